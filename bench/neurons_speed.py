"""Neuron-ablation speed: the held-out text as parallel streams (one batch) against one sequence.

Each ablation of the ``neurons`` rule reruns the model over ``neurons.max_tokens`` characters
with some units silenced (``rnnscope.neurons.run_states``). A randomly initialised character
LSTM at the default Linux shape (3x128) runs over ``--tokens`` characters with two units of its
middle layer silenced, as one sequence (``streams=1``, the baseline) and cut into ``--streams``
equal segments run as one batch (the project's default). The streamed run must equal running
each segment alone, one after another (max difference reported, target 1e-5).

    .venv/bin/python bench/neurons_speed.py [--tokens 20000 --streams 16 --layers 3 --hidden 128 --cell lstm --runs 5]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from harness import Figure, median, random_char_model, speed_ratio, timed_rounds, write_results
from rnnscope.neurons import run_states


def measure(args: argparse.Namespace) -> tuple[list[Figure], dict]:
    torch.set_num_threads(1)  # as the neurons rule (threads: 1)
    _, ids, model = random_char_model(args.tokens, args.cell, args.hidden, args.layers)
    silenced = (args.layers // 2, [3, 17])
    results: dict[str, tuple[dict[str, np.ndarray], np.ndarray]] = {}

    def streamed() -> None:
        results["streamed"] = run_states(model, ids, ["h"], silenced=silenced, streams=args.streams)

    def one_sequence() -> None:
        results["one"] = run_states(model, ids, ["h"], silenced=silenced, streams=1)

    seconds = timed_rounds({"streamed": streamed, "one": one_sequence}, args.runs)
    length = len(ids) // args.streams
    segments = [
        run_states(model, ids[s * length : (s + 1) * length], ["h"], silenced=silenced) for s in range(args.streams)
    ]
    states, log_prob = results["streamed"]
    difference = max(
        max(
            float(np.abs(states[column] - np.concatenate([segment[0][column] for segment in segments])).max())
            for column in states
        ),
        float(np.nanmax(np.abs(log_prob - np.concatenate([segment[1] for segment in segments])))),
    )
    ratio = speed_ratio(seconds["streamed"], seconds["one"])
    shape = f"{args.layers}x{args.hidden} {args.cell}"
    figures = [
        Figure(
            f"one ablation run, {shape}, {len(ids)} chars as {args.streams} streams",
            len(ids) / median(seconds["streamed"]),
            "tok/s",
            "one batch-1 sequence",
            len(ids) / median(seconds["one"]),
            ratio,
        ),
        Figure(
            f"{args.streams} streams max |batched - each segment alone|",
            difference,
            "",
            target="<= 1e-5",
            met=difference <= 1e-5,
        ),
    ]
    return figures, {"seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=None, help="JSON path (default results/bench/neurons_speed.json)")
    args = parser.parse_args()
    figures, details = measure(args)
    write_results("neurons_speed", vars(args), figures, args.out)


if __name__ == "__main__":
    main()
