"""Concept-erasure speed: a run with one layer's h erased at every step against the fused run.

The erased layer cannot run fused (the eraser acts between steps), so it is stepped with a cell
(``rnnscope.erasure.run_erased``), one Python iteration per step; the other layers stay fused.
A randomly initialised character LSTM at the default Linux shape (3x128) runs over ``--tokens``
characters with a LEACE eraser of its middle layer, as one sequence and as ``--streams``
parallel streams (one batch, as the neurons rule runs its ablations), against the fused run
without erasure (``rnnscope.neurons.run_states``) on the same streams.

    .venv/bin/python bench/erasure_speed.py [--tokens 20000 --streams 16 --layers 3 --hidden 128 --cell lstm --runs 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from harness import Figure, median, random_char_model, speed_ratio, timed_rounds, write_results
from rnnscope.erasure import fit_leace, run_erased
from rnnscope.neurons import run_states


def measure(args: argparse.Namespace) -> list[Figure]:
    torch.set_num_threads(1)  # as the neurons rule (threads: 1)
    text, ids, model = random_char_model(args.tokens, args.cell, args.hidden, args.layers)
    layer = args.layers // 2
    states, _ = run_states(model, ids, ["h"])
    eraser = fit_leace(states[f"l{layer}_h"], np.asarray(list(text)) == " ")
    candidates = {
        f"erased, {streams} stream(s)": lambda streams=streams: run_erased(model, ids, layer, eraser, streams=streams)
        for streams in (1, args.streams)
    } | {
        f"fused, {streams} stream(s)": lambda streams=streams: run_states(model, ids, ["h"], streams=streams)
        for streams in (1, args.streams)
    }
    seconds = timed_rounds(candidates, args.runs)
    shape = f"{args.layers}x{args.hidden} {args.cell}"
    return [
        Figure(
            f"{len(ids)} chars, layer {layer} of a {shape} erased, {streams} stream(s)",
            median(seconds[f"erased, {streams} stream(s)"]),
            "s",
            "fused, no erasure",
            median(seconds[f"fused, {streams} stream(s)"]),
            speed_ratio(seconds[f"erased, {streams} stream(s)"], seconds[f"fused, {streams} stream(s)"]),
        )
        for streams in (1, args.streams)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=None, help="JSON path (default results/bench/erasure_speed.json)")
    args = parser.parse_args()
    write_results("erasure_speed", vars(args), measure(args), args.out)


if __name__ == "__main__":
    main()
