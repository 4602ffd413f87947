"""Seed 004: the 1-1-1 sigmoid RNN that learns online to predict the next bit of a sequence.

The network is ``h(t) = f(hh*h(t-1) + ih*x(t))``, ``y(t) = g(ho*h(t))`` with sigmoid ``f`` and
``g``; it is trained by one gradient step per sequence position towards the target ``x(t+1)``.
``train_online`` replicates the seed's ``rnn`` function operation for operation (the seed's code
is the method; its prose figures are read off that code's output).

Sequence spellings (``parse_sequence``): space-separated parts, each ``D^k`` (digit ``D``
repeated ``k`` times), ``(DIGITS)^k`` (a group repeated) or plain ``DIGITS``; digits are 0 or 1.
Examples: ``1^10``, ``1^10 0^10``, ``(10)^10``, ``0110``.

Sign patterns (``sign_pattern``), the seed's notation in ASCII: one symbol per step, ``+`` the
value increased, ``-`` it decreased, ``=`` it did not change; a run of ``k > 1`` equal symbols is
written ``S^k``; a ``,`` stands before the step on which the value crosses zero (lands with the
opposite sign to the last nonzero value). Tokens are separated by single spaces, for example
``+^10 -^5 , -^5``.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from rnnscope.figures import save_figure

log = logging.getLogger(__name__)

WEIGHTS = ("hh", "ih", "ho")
INITIAL_WEIGHT = 0.0
TRAJECTORY_COLUMNS = ["step", "x", "target", *WEIGHTS, "yhat_next", "yhat_next_c_only"]
WEIGHTS_TABLE_COLUMNS = ["sequence", *WEIGHTS, "yhat_min", "yhat_max"]

_PART = re.compile(r"\((?P<group>[01]+)\)\^(?P<group_count>\d+)|(?P<digit>[01])\^(?P<digit_count>\d+)|(?P<plain>[01]+)")
_SYMBOLS = {1.0: "+", -1.0: "-", 0.0: "="}


def parse_sequence(spec: str) -> list[int]:
    """The bits spelled by ``spec``, e.g. ``"1^2 (10)^2 0"`` -> ``[1, 1, 1, 0, 1, 0, 0]``."""
    parts = spec.split()
    if not parts:
        raise ValueError(f"empty sequence spelling {spec!r}; write parts such as '1^10', '(10)^5' or '0110'")
    bits: list[int] = []
    for part in parts:
        match = _PART.fullmatch(part)
        if match is None:
            raise ValueError(
                f"cannot parse {part!r} in sequence {spec!r}: each space-separated part must be "
                "D^k (D a bit 0/1), (DIGITS)^k to repeat a group of bits, or plain bits such as 0110"
            )
        if match["plain"] is not None:
            bits += [int(char) for char in match["plain"]]
            continue
        unit = match["group"] if match["group"] is not None else match["digit"]
        count = int(match["group_count"] or match["digit_count"])
        if count < 1:
            raise ValueError(f"repeat count must be at least 1 in {part!r} of sequence {spec!r}")
        bits += [int(char) for char in unit] * count
    return bits


def _sigmoid(x: float) -> float:
    # The seed's formula bit for bit; exp(-x) overflows below -709, where the sigmoid is 0.0 anyway.
    return 1.0 / (1.0 + math.exp(-x)) if x > -709.0 else 0.0


def _sigmoid_slope(x: float) -> float:
    """The seed's ``derivative(sigmoid, x)``."""
    return _sigmoid(x) * (1.0 - _sigmoid(x))


def train_online(xs: list[int], eta: float = 5.0) -> pd.DataFrame:
    """Train the 1-1-1 sigmoid RNN online on ``xs``; one row per step with the weights after it.

    Exactly the seed's ``rnn``: ho is updated first and the ih and hh updates use the new ho.
    ``yhat_next`` is the updated network's prediction of ``x(t+2)`` from the current hidden state
    and ``x(t+1)``; ``yhat_next_c_only`` is ``g(ho * x(t+1))``, the output weight alone.
    """
    if len(xs) < 2:
        raise ValueError(f"need at least 2 values to train on (input and target), got {len(xs)}")
    if eta <= 0:
        raise ValueError(f"learning rate eta must be positive, got {eta}")
    h = 0.0
    hh, ih, ho = INITIAL_WEIGHT, INITIAL_WEIGHT, INITIAL_WEIGHT
    rows = []
    for t in range(len(xs) - 1):
        h_previous = h
        pre_activation = hh * h + ih * xs[t]
        h = _sigmoid(pre_activation)
        y = _sigmoid(ho * h)
        err = xs[t + 1] - y
        ho += eta * err * _sigmoid_slope(ho * h) * h
        ih += eta * err * _sigmoid_slope(ho * h) * ho * _sigmoid_slope(pre_activation) * xs[t]
        hh += eta * err * _sigmoid_slope(ho * h) * ho * _sigmoid_slope(pre_activation) * h_previous
        yhat_next = _sigmoid(ho * _sigmoid(hh * h + ih * xs[t + 1]))
        yhat_next_c_only = _sigmoid(ho * xs[t + 1])
        rows.append([t + 1, xs[t], xs[t + 1], hh, ih, ho, yhat_next, yhat_next_c_only])
    return pd.DataFrame(rows, columns=TRAJECTORY_COLUMNS)


def weights_table(specs: list[str], eta: float) -> pd.DataFrame:
    """Final weights and the range of ``yhat_next`` after training on each spelled sequence."""
    return _final_weights({spec: train_online(parse_sequence(spec), eta) for spec in specs})


def _final_weights(trajectories: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for spec, trajectory in trajectories.items():
        final = trajectory.iloc[-1]
        yhat = trajectory["yhat_next"]
        rows.append([spec, final["hh"], final["ih"], final["ho"], yhat.min(), yhat.max()])
    return pd.DataFrame(rows, columns=WEIGHTS_TABLE_COLUMNS)


def sign_pattern(values: Iterable[float]) -> str:
    """How ``values`` move step by step in the seed's notation (see the module docstring)."""
    series = np.asarray(list(values), dtype=float)
    if series.size < 2:
        raise ValueError(f"need at least 2 values to describe a movement, got {series.size}")
    tokens: list[str] = []
    last_sign = np.sign(series[0])
    for move, value in zip(np.sign(np.diff(series)), series[1:], strict=True):
        sign = np.sign(value)
        if sign != 0 and last_sign != 0 and sign != last_sign:
            tokens.append(",")
        tokens.append(_SYMBOLS[float(move)])
        if sign != 0:
            last_sign = sign
    runs = ((token, len(list(group))) for token, group in itertools.groupby(tokens))
    return " ".join(token if count == 1 else f"{token}^{count}" for token, count in runs)


def trajectory_sign_patterns(trajectory: pd.DataFrame) -> dict[str, str]:
    """Sign pattern of each weight over a ``train_online`` trajectory, from the initial 0."""
    return {weight: sign_pattern([INITIAL_WEIGHT, *trajectory[weight]]) for weight in WEIGHTS}


def run_alternating(
    x0: float = 1.0, ih: float = -1.0, hh: float = 0.0, ho: float = 1.0, gain: float = 10.0, n: int = 10
) -> list[float]:
    """The seed's hand-wired generator: outputs fed back as inputs, ``f = g = 2*sigmoid - 1``."""

    def squash(x: float) -> float:
        return 2 * _sigmoid(x) - 1

    h = 0.5
    x = x0
    outputs = []
    for _ in range(n):
        h = squash(hh * h + ih * x)
        x = squash(gain * ho * h)
        outputs.append(x)
    return outputs


def plot_trajectories(trajectories: Mapping[str, pd.DataFrame], png_path: str | Path) -> None:
    """One panel per sequence: hh, ih, ho from the initial 0 over the steps, with sign patterns."""
    if not trajectories:
        raise ValueError("no trajectories to plot; pass at least one sequence")
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    columns = min(2, len(trajectories))
    rows = math.ceil(len(trajectories) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, 4.8 * rows), squeeze=False, sharey=True)
    for ax, (spec, trajectory) in zip(axes.flat, trajectories.items(), strict=False):
        patterns = trajectory_sign_patterns(trajectory)
        steps = [0, *trajectory["step"]]
        for weight in WEIGHTS:
            label = f"{weight}: {patterns[weight]}"
            ax.plot(steps, [INITIAL_WEIGHT, *trajectory[weight]], marker=".", label=label)
        ax.axhline(0.0, color="grey", linewidth=0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(spec)
        ax.set_xlabel("step")
        ax.set_ylabel("weight")
        # Below the axes: the long sign patterns would hide the curves.
        ax.legend(
            prop={"family": "monospace", "size": "x-small"},
            loc="upper center",
            bbox_to_anchor=(0.5, -0.18),
            frameon=False,
        )
    for ax in axes.flat[len(trajectories) :]:
        ax.set_visible(False)
    fig.tight_layout()
    save_figure(fig, png_path)


def reproduce(
    specs: list[str],
    eta: float,
    alternating: Mapping[str, Any],
    weights_csv: str | Path,
    trajectories_csv: str | Path,
    alternating_csv: str | Path,
    plot_png: str | Path,
) -> None:
    """Write the seed's tables (weights rounded to 4 decimals, full-precision trajectories,
    the alternating generator's outputs) and the trajectory plot (PNG and SVG)."""
    trajectories = {spec: train_online(parse_sequence(spec), eta) for spec in specs}
    for spec, trajectory in trajectories.items():
        log.info("%s sign patterns: %s", spec, trajectory_sign_patterns(trajectory))
    for path in (weights_csv, trajectories_csv, alternating_csv):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    _final_weights(trajectories).round(4).to_csv(weights_csv, index=False)
    stacked = pd.concat([trajectory.assign(sequence=spec) for spec, trajectory in trajectories.items()])
    stacked[["sequence", *TRAJECTORY_COLUMNS]].to_csv(trajectories_csv, index=False)
    outputs = run_alternating(**alternating)
    pd.DataFrame({"step": range(1, len(outputs) + 1), "y": outputs}).to_csv(alternating_csv, index=False)
    plot_trajectories(trajectories, plot_png)
