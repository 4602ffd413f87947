"""Shared by the bench/ scripts: interleaved timed rounds, figures, their JSON and the table.

Each benchmark times the project's code and a named baseline in the same process, alternating
them round by round after a warm-up round, so load from other processes hits both alike. A
ratio is the median over rounds of (baseline seconds / project seconds) for the same work,
so above 1 means the project is faster.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from tabulate import tabulate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "bench"


class Ratio(NamedTuple):
    """The median of the per-round ratios, and the lowest and highest (how noisy the rounds were)."""

    median: float
    low: float
    high: float


@dataclass(frozen=True)
class Figure:
    """One measured figure, its baseline and whether it meets its target (None: no target)."""

    name: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    ratio: Ratio | None = None
    target: str = ""
    met: bool | None = None


def char_corpus(length: int) -> str:
    """``length`` characters of English-like text with code and punctuation: the README, repeated."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return (text * (length // len(text) + 1))[:length]


def random_char_model(tokens: int, cell: str, hidden: int, layers: int) -> tuple[str, Any, Any]:
    """``tokens`` characters of :func:`char_corpus`, their ids and an untrained character model
    (seed 0, init ±0.08) over them, in eval mode: the neurons and erasure benches' workload."""
    import numpy as np
    import torch

    from rnnscope.data import build_vocab
    from rnnscope.models import ModelConfig, RNNModel
    from rnnscope.text import encode

    text = char_corpus(tokens)
    vocab = build_vocab(text)
    ids = np.asarray(encode(text, vocab))
    torch.manual_seed(0)
    model = RNNModel(ModelConfig(cell=cell, vocab_size=len(vocab), hidden=hidden, layers=layers, init_range=0.08))
    return text, ids, model.eval()


def timed_rounds(
    candidates: dict[str, Callable[[], object]], runs: int, warmups: dict[str, Callable[[], object]] | None = None
) -> dict[str, list[float]]:
    """Seconds of each candidate in each of ``runs`` rounds (order rotated), after one untimed warm-up round.

    The warm-up calls ``warmups[name]`` where given (a smaller run of the same code), else the candidate.
    """
    if runs < 3:
        raise ValueError(f"runs must be >= 3 for a median to mean anything, got {runs}")
    for name, candidate in candidates.items():
        (warmups or {}).get(name, candidate)()
    seconds: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for round_index in range(runs):
        shift = round_index % len(names)  # rotate the order so no candidate always runs first
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            candidates[name]()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def median(values: list[float]) -> float:
    return statistics.median(values)


def speed_ratio(
    project: list[float], baseline: list[float], project_work: float = 1.0, baseline_work: float = 1.0
) -> Ratio:
    """The project's throughput over the baseline's (work per second), round by round."""
    ratios = [(project_work / p) / (baseline_work / b) for p, b in zip(project, baseline, strict=True)]
    return Ratio(median(ratios), min(ratios), max(ratios))


def at_least(ratio: Ratio, target: float) -> tuple[str, bool]:
    return f">= {target:g}x", ratio.median >= target


def above(ratio: Ratio, target: float) -> tuple[str, bool]:
    return f"> {target:g}x", ratio.median > target


def write_results(name: str, settings: dict, figures: list[Figure], out: str | Path | None) -> Path:
    """Write ``{"benchmark", "settings", "figures"}`` JSON (default results/bench/<name>.json) and print the table."""
    path = Path(out) if out else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "settings": settings, "figures": [asdict(figure) for figure in figures]}
    path.write_text(json.dumps(payload, indent=2))
    print(table([payload]))
    print(f"wrote {path}")
    return path


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def table(payloads: list[dict]) -> str:
    """One row per figure of every benchmark: figure, value, baseline, ratio (range over rounds), target, met?"""
    rows = []
    for payload in payloads:
        for figure in payload["figures"]:
            met = {True: "yes", False: "NO", None: ""}[figure["met"]]
            baseline = figure["baseline"]
            if figure["baseline_value"] is not None:
                baseline += f" ({_number(figure['baseline_value'], figure['unit'])})"
            ratio = ""
            if figure["ratio"] is not None:
                middle, low, high = figure["ratio"]
                ratio = f"{middle:.2f}x ({low:.2f}-{high:.2f})"
            rows.append(
                [
                    payload["benchmark"],
                    figure["name"],
                    _number(figure["value"], figure["unit"]),
                    baseline,
                    ratio,
                    figure["target"],
                    met,
                ]
            )
    return tabulate(
        rows,
        headers=["bench", "figure", "value", "baseline", "ratio (per-round range)", "target", "met?"],
        tablefmt="github",
    )
