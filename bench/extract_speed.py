"""Extraction speed: rnnscope.extract against the fused forward and a step-by-step LSTMCell loop.

A randomly initialised LSTM (default 2x650, embedding 650; weights do not change the cost) is
saved with ``save_checkpoint`` and run over ``--tokens`` characters of generated text. Each round
times, one after another:

- the baseline, the fused ``nn.LSTM`` forward of the whole stack in chunks of ``--chunk-len``
  (state carried), which gives only the top layer's h;
- ``extract_states`` with kinds ``h`` (every layer's h) and with kinds ``all`` (h, c and gates
  i, f, g, o of every layer), both writing Parquet, in a worker process as in the pipeline.
  Time inside ``StatesWriter.write`` and ``close`` is measured separately: the compute figures
  are the call's time without it, and the Parquet rate is the float32 state bytes handed to
  the writer per second spent in it;
- on the first ``--reference-tokens`` tokens, the step-by-step references: ``nn.LSTMCell`` per
  token and layer giving h and c, and the same loop also giving the gates (from the textbook
  equations, as in tests/test_extract.py). The full extraction must equal it to 1e-5.

Ratios compare throughput (tokens/s), so the references may run on fewer tokens.

    .venv/bin/python bench/extract_speed.py [--tokens 100000 --hidden 650 --layers 2 --runs 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness import (
    Figure,
    above,
    at_least,
    char_corpus,
    median,
    speed_ratio,
    timed_rounds,
    write_results,
)
from rnnscope.data import build_vocab, write_splits
from rnnscope.extract import extract_states
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.states import StatesWriter, read_matrices
from rnnscope.text import encode
from rnnscope.train import TrainSettings, save_checkpoint

GATES = "ifgo"


class WriteTimer:
    """Wraps ``StatesWriter.write`` and ``close`` to add up the seconds spent in them and the state bytes written."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.bytes = 0
        self._write, self._close = StatesWriter.write, StatesWriter.close

    def __enter__(self) -> WriteTimer:
        timer = self

        def write(writer: StatesWriter, tokens: dict[str, np.ndarray], states: dict[str, np.ndarray]) -> None:
            started = time.perf_counter()
            timer._write(writer, tokens, states)
            timer.seconds += time.perf_counter() - started
            timer.bytes += sum(matrix.size * 4 for matrix in states.values())

        def close(writer: StatesWriter) -> None:
            started = time.perf_counter()
            timer._close(writer)
            timer.seconds += time.perf_counter() - started

        StatesWriter.write, StatesWriter.close = write, close  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        StatesWriter.write, StatesWriter.close = self._write, self._close  # type: ignore[method-assign]


@torch.no_grad()
def fused_top_h(model: RNNModel, ids: torch.Tensor, chunk_len: int) -> None:
    """The baseline: the fused stack over the stream in chunks, keeping only the top layer's h."""
    hidden = None
    for start in range(0, ids.numel(), chunk_len):
        outputs, hidden = model.rnn(model.embed(ids[None, start : start + chunk_len]), hidden)
        outputs.numpy()


@torch.no_grad()
def cell_loop(model: RNNModel, ids: torch.Tensor, with_gates: bool) -> dict[str, np.ndarray]:
    """Every layer's h and c (and gates) from nn.LSTMCell, one token and one layer at a time."""
    config = model.config
    inputs = model.embed(ids)
    states: dict[str, np.ndarray] = {}
    for layer in range(config.layers):
        weights = {
            name: getattr(model.rnn, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
        cell = nn.LSTMCell(inputs.shape[1], config.hidden)
        cell.load_state_dict(weights)
        h, c = torch.zeros(1, config.hidden), torch.zeros(1, config.hidden)
        rows: dict[str, list[torch.Tensor]] = {kind: [] for kind in ("h", "c", *(GATES if with_gates else ""))}
        for x in inputs:
            if with_gates:
                pre = weights["weight_ih"] @ x + weights["bias_ih"] + weights["weight_hh"] @ h[0] + weights["bias_hh"]
                i, f, g, o = pre.chunk(4)
                for kind, value in zip(GATES, (i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()), strict=True):
                    rows[kind].append(value)
            h, c = cell(x[None], (h, c))
            rows["h"].append(h[0])
            rows["c"].append(c[0])
        for kind, values in rows.items():
            states[f"l{layer}_{kind}"] = torch.stack(values).numpy()
        inputs = torch.stack(rows["h"])
    return states


def make_inputs(folder: Path, args: argparse.Namespace) -> tuple[Path, Path, Path, RNNModel, torch.Tensor]:
    text = char_corpus(args.tokens)
    vocab = build_vocab(text)
    write_splits({"test": text}, vocab, folder)
    torch.manual_seed(0)
    config = ModelConfig(
        cell="lstm", vocab_size=len(vocab), hidden=args.hidden, layers=args.layers, embedding=args.embedding
    )
    model = RNNModel(config).eval()
    checkpoint = folder / "model.pt"
    save_checkpoint(checkpoint, model, TrainSettings(epochs=1, batch_size=1, seq_len=1, lr=1.0), step=0, epoch=0)
    return checkpoint, folder / "test.txt", folder / "vocab.json", model, torch.tensor(encode(text, vocab))


def timed_extraction(
    checkpoint: Path, text: Path, vocab: Path, out: Path, kinds: str, max_tokens: int, chunk_len: int, threads: int
) -> dict[str, float]:
    """Run ``extract_states`` (kinds ``h`` or ``all``); its seconds, those spent writing, and the state bytes."""
    with WriteTimer() as timer:
        started = time.perf_counter()
        extract_states(
            checkpoint,
            text,
            vocab,
            out,
            "bench",
            kinds=[kinds] if kinds == "h" else kinds,
            max_tokens=max_tokens,
            chunk_len=chunk_len,
            threads=threads,
        )
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "write_seconds": timer.seconds, "bytes": timer.bytes}


def measure(args: argparse.Namespace, folder: Path) -> tuple[list[Figure], dict]:
    checkpoint, text, vocab, model, ids = make_inputs(folder, args)
    runs: dict[str, list[dict[str, float]]] = {"h": [], "all": []}
    outputs = {kinds: folder / f"states_{kinds}.parquet" for kinds in runs}
    # Extraction runs in a worker process, as in the pipeline: it pins glibc's mmap threshold for
    # its whole process (see rnnscope.extract), which must not change the baselines' allocations here.
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    def extract_kinds(kinds: str, max_tokens: int = 0) -> None:
        job = (checkpoint, text, vocab, outputs[kinds], kinds, max_tokens, args.chunk_len, args.threads)
        runs[kinds].append(pool.submit(timed_extraction, *job).result())

    reference_ids = ids[: args.reference_tokens]
    with pool:
        seconds = timed_rounds(
            {
                "fused": lambda: fused_top_h(model, ids, args.chunk_len),
                "extract_h": lambda: extract_kinds("h"),
                "extract_all": lambda: extract_kinds("all"),
                "cell_loop_hc": lambda: cell_loop(model, reference_ids, with_gates=False),
                "cell_loop_all": lambda: cell_loop(model, reference_ids, with_gates=True),
            },
            args.runs,
            warmups={  # one chunk each
                "fused": lambda: fused_top_h(model, ids[: args.chunk_len], args.chunk_len),
                "extract_h": lambda: extract_kinds("h", args.chunk_len),
                "extract_all": lambda: extract_kinds("all", args.chunk_len),
                "cell_loop_hc": lambda: cell_loop(model, reference_ids[:100], with_gates=False),
                "cell_loop_all": lambda: cell_loop(model, reference_ids[:100], with_gates=True),
            },
        )
    timed = {kinds: kind_runs[1:] for kinds, kind_runs in runs.items()}  # without the warm-up
    for kinds, kind_runs in timed.items():  # the worker's own clock: no inter-process overhead
        seconds[f"extract_{kinds}"] = [run["seconds"] for run in kind_runs]
    compute = {
        kinds: [run["seconds"] - run["write_seconds"] for run in kind_runs] for kinds, kind_runs in timed.items()
    }
    reference = cell_loop(model, reference_ids, with_gates=True)
    extracted = read_matrices(outputs["all"], list(reference))
    difference = max(float(np.abs(extracted[name][: len(reference_ids)] - reference[name]).max()) for name in reference)

    tokens, reference_tokens = ids.numel(), reference_ids.numel()
    rate = {name: tokens / median(values) for name, values in seconds.items()}
    rate |= {name: reference_tokens / median(seconds[name]) for name in ("cell_loop_hc", "cell_loop_all")}
    fused = "fused nn.LSTM, top layer h"
    ratio_h = speed_ratio(compute["h"], seconds["fused"])
    ratio_all = speed_ratio(compute["all"], seconds["fused"])
    ratio_h_written = speed_ratio(seconds["extract_h"], seconds["fused"])
    ratio_all_written = speed_ratio(seconds["extract_all"], seconds["fused"])
    ratio_vs_full_loop = speed_ratio(compute["all"], seconds["cell_loop_all"], tokens, reference_tokens)
    ratio_vs_hc_loop = speed_ratio(compute["all"], seconds["cell_loop_hc"], tokens, reference_tokens)
    write_rate = median([run["bytes"] / run["write_seconds"] / 1e6 for run in timed["all"]])
    shape = f"{args.layers}x{args.hidden} LSTM, {tokens} tokens"
    figures = [
        Figure(
            f"every layer's h, compute ({shape})",
            tokens / median(compute["h"]),
            "tok/s",
            fused,
            rate["fused"],
            ratio_h,
            *at_least(ratio_h, 0.9),
        ),
        Figure(
            "every layer's h, incl. Parquet write", rate["extract_h"], "tok/s", fused, rate["fused"], ratio_h_written
        ),
        Figure(
            "full state (h, c, gates), compute",
            tokens / median(compute["all"]),
            "tok/s",
            fused,
            rate["fused"],
            ratio_all,
            *at_least(ratio_all, 0.5),
        ),
        Figure(
            "full state, incl. Parquet write", rate["extract_all"], "tok/s", fused, rate["fused"], ratio_all_written
        ),
        Figure(
            "full state vs step loop with gates",
            tokens / median(compute["all"]),
            "tok/s",
            "LSTMCell loop, h c gates",
            rate["cell_loop_all"],
            ratio_vs_full_loop,
            *above(ratio_vs_full_loop, 1),
        ),
        Figure(
            "full state vs step loop h, c only",
            tokens / median(compute["all"]),
            "tok/s",
            "LSTMCell loop, h c",
            rate["cell_loop_hc"],
            ratio_vs_hc_loop,
            *above(ratio_vs_hc_loop, 1),
        ),
        Figure(
            f"full state max |extract - LSTMCell loop| ({reference_tokens} tokens)",
            difference,
            "",
            target="<= 1e-5",
            met=difference <= 1e-5,
        ),
        Figure(
            "Parquet write, full state (float32 bytes in)",
            write_rate,
            "MB/s",
            target=">= 200 MB/s",
            met=write_rate >= 200,
        ),
    ]
    details = {"seconds": seconds, "compute_seconds": compute, "parquet_mb": outputs["all"].stat().st_size / 1e6}
    return figures, details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--reference-tokens", type=int, default=1_000, help="tokens the step loops run over")
    parser.add_argument("--hidden", type=int, default=650)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--embedding", type=int, default=650, help="0: one-hot characters")
    parser.add_argument("--chunk-len", type=int, default=4096)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="JSON path (default results/bench/extract_speed.json)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="extract_speed_") as tmp:
        figures, details = measure(args, Path(tmp))
    write_results("extract_speed", vars(args) | details, figures, args.out)


if __name__ == "__main__":
    main()
