"""Seed 000: how an SRN counts in a^n b^n and a^n b^n c^n.

Error measure: the seed reports an "error rate" without defining it; we report the argmax
error on the deterministic positions (every prediction made after the first b of a string),
because those are the only predictions a perfect model can always get right. ``train_error``
is that error on the training stream, ``det_accuracy`` its complement on held-out strings
with n inside the training range. ``count_r2`` is the held-out R² of a linear read-out
(least squares on the hidden state) of the count remaining, fitted on the training stream's
deterministic positions and scored on held-out strings inside the training range;
``count_r2_per_symbol`` fits one read-out per input symbol (the seed's counters live inside
each symbol's cluster). The per-n table shows where counting and the read-out stop working
beyond the training range.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from rnnscope.figures import save_figure
from rnnscope.labels import read_labels
from rnnscope.states import read_info, read_matrices, read_tokens, state_column

log = logging.getLogger(__name__)
SYMBOL_COLOURS = {"a": "tab:blue", "b": "tab:orange", "c": "tab:green"}


def load_counting_frame(
    states_path: str | Path, labels_path: str | Path, layer: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-token frame (tokens, predictions, labels) and the layer's hidden states, aligned."""
    tokens = read_tokens(states_path).to_pandas()
    labels, _ = read_labels(labels_path)
    if len(labels) < len(tokens) or not np.array_equal(
        labels["position"].to_numpy()[: len(tokens)], tokens["position"].to_numpy()
    ):
        raise ValueError(f"{labels_path} does not cover the positions of {states_path}; rerun the label rule")
    frame = pd.concat(
        [tokens.reset_index(drop=True), labels.iloc[: len(tokens)].drop(columns="position").reset_index(drop=True)],
        axis=1,
    )
    frame["correct"] = frame["pred_id"] == frame["next_token_id"]
    # The last token has no next token to predict.
    frame = frame[frame["next_token_id"] >= 0]
    hidden = read_matrices(states_path, [state_column(layer, "h")])[state_column(layer, "h")][frame.index.to_numpy()]
    return frame.reset_index(drop=True), hidden


def per_n_table(frame: pd.DataFrame, hidden: np.ndarray, readout: LinearRegression) -> pd.DataFrame:
    """Deterministic accuracy and count read-out quality for every n of the held-out strings."""
    deterministic = frame["deterministic"].astype(bool).to_numpy()
    predicted = readout.predict(hidden)
    rows = []
    for n, group in frame[deterministic].groupby("n"):
        index = group.index.to_numpy()
        truth = group["count_remaining"].to_numpy(dtype=float)
        rows.append(
            {
                "n": int(n),  # type: ignore[arg-type]  # the stubs type a group key as any scalar; n is an int
                "det_positions": len(group),
                "det_accuracy": float(group["correct"].mean()),
                "count_mae": float(np.mean(np.abs(predicted[index] - truth))),
                "count_rounded_accuracy": float(np.mean(np.round(predicted[index]) == truth)),
            }
        )
    return pd.DataFrame(rows)


def per_symbol_r2(train: pd.DataFrame, train_hidden: np.ndarray, test: pd.DataFrame, test_hidden: np.ndarray) -> float:
    """Held-out R² of one linear read-out of the count remaining per input symbol (per cluster,
    as the seed describes the counters), pooled over symbols."""
    predicted = np.empty(len(test))
    for symbol in test["symbol"].unique():
        fit_rows = (train["symbol"] == symbol).to_numpy()
        rows = (test["symbol"] == symbol).to_numpy()
        readout = LinearRegression().fit(
            train_hidden[fit_rows], train.loc[fit_rows, "count_remaining"].to_numpy(dtype=float)
        )
        predicted[rows] = readout.predict(test_hidden[rows])
    return float(r2_score(test["count_remaining"].to_numpy(dtype=float), predicted))


def counting_summary(
    train_states: str | Path,
    train_labels: str | Path,
    test_states: str | Path,
    test_labels: str | Path,
    train_metrics: str | Path,
    task: str,
    n_train_max: int,
    det_threshold: float,
    summary_json: str | Path,
    per_n_csv: str | Path,
) -> dict:
    """The seed-000 figures for one counting model; writes a one-row summary and the per-n table."""
    train, train_hidden = load_counting_frame(train_states, train_labels)
    test, test_hidden = load_counting_frame(test_states, test_labels)
    info = read_info(test_states)
    metrics = json.loads(Path(train_metrics).read_text())

    train_det = train["deterministic"].astype(bool).to_numpy()
    readout = LinearRegression().fit(
        train_hidden[train_det], train.loc[train_det, "count_remaining"].to_numpy(dtype=float)
    )
    per_n = per_n_table(test, test_hidden, readout)
    per_n.to_csv(per_n_csv, index=False)

    inside = (test["deterministic"].astype(bool) & (test["n"] <= n_train_max)).to_numpy()
    counted = per_n["det_accuracy"].to_numpy() >= det_threshold
    first_failure = int(np.argmin(counted)) if not counted.all() else len(counted)
    summary = {
        "task": task,
        "hidden": info.hidden,
        "epochs": metrics["epochs"],
        "train_error": float(1.0 - train.loc[train_det, "correct"].mean()),
        "det_accuracy": float(test.loc[inside, "correct"].mean()),
        "count_r2": float(
            r2_score(test.loc[inside, "count_remaining"].to_numpy(dtype=float), readout.predict(test_hidden[inside]))
        ),
        "count_r2_per_symbol": per_symbol_r2(
            train[train_det], train_hidden[train_det], test[inside], test_hidden[inside]
        ),
        "n_train_max": n_train_max,
        "max_n_counted": int(per_n["n"].iloc[first_failure - 1]) if first_failure else 0,
        "test_loss_nats": metrics["splits"]["test"]["loss_nats"],
        "model": info.model,
    }
    Path(summary_json).write_text(json.dumps(summary, indent=2))
    log.info("%s: %s", info.model, summary)
    return summary


def plot_activation_space(states_path: str | Path, labels_path: str | Path, n_max: int, png_path: str | Path) -> None:
    """Hidden states of held-out strings (n <= n_max) coloured by symbol, each (symbol, count
    remaining) annotated at its mean position; 2-D for two units, 3-D for three or more (first three)."""
    frame, hidden = load_counting_frame(states_path, labels_path)
    keep = (frame["n"] <= n_max).to_numpy()
    frame, hidden = frame[keep].reset_index(drop=True), hidden[keep]
    dims = min(hidden.shape[1], 3)
    figure = plt.figure(figsize=(7, 6))
    axes: Any = figure.add_subplot(projection="3d" if dims == 3 else None)  # Axes3D or Axes
    for symbol, group in frame.groupby("symbol"):
        points = hidden[group.index.to_numpy(), :dims]
        axes.scatter(*points.T, s=12, alpha=0.5, color=SYMBOL_COLOURS.get(str(symbol), "grey"), label=f"input {symbol}")
    # Annotate counts: for a the count seen so far, for b/c the count still to come.
    frame["annotation"] = np.where(frame["symbol"] == "a", frame["count_seen"], frame["count_remaining"])
    for (annotated, count), group in frame.groupby(["symbol", "annotation"]):
        centre = hidden[group.index.to_numpy(), :dims].mean(axis=0)
        axes.text(*centre, f"{annotated}{count:.0f}", fontsize=8)
    axes.set_xlabel("unit 0")
    axes.set_ylabel("unit 1")
    if dims == 3:
        axes.set_zlabel("unit 2")
    axes.set_title(f"{read_info(states_path).model}: hidden activations (a: count seen; b, c: count remaining)")
    axes.legend(loc="best")
    figure.tight_layout()
    save_figure(figure, png_path)


def counting_table(summaries: list[str | Path], csv_path: str | Path) -> pd.DataFrame:
    """results/tables/srn_counting.csv: one row per counting model, required columns first."""
    table = pd.DataFrame([json.loads(Path(path).read_text()) for path in summaries])
    columns = ["task", "hidden", "epochs", "train_error", "det_accuracy", "count_r2"]
    table = table[columns + [c for c in table.columns if c not in columns]]
    table.to_csv(csv_path, index=False)
    return table
