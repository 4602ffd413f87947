"""Spectral co-clustering of words and hidden units by expected response (RNNVis, Ming et al. 2017).

The (tokens × units) response matrix is made non-negative according to ``mode`` and
co-clustered with scikit-learn's ``SpectralCoclustering`` (Dhillon 2001). The edge between word
cluster W_i and unit cluster H_j is the mean raw signed response over the block:
e(W_i, H_j) = 1 / (|W_i| |H_j|) Σ_{x ∈ W_i, y ∈ H_j} s(x)_y.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from sklearn.cluster import SpectralCoclustering

from rnnscope.artifacts import write_table
from rnnscope.figures import save_figure
from rnnscope.responses import RESPONSE_METADATA_COLUMNS
from rnnscope.states import read_table
from rnnscope.text import display_token

log = logging.getLogger(__name__)

MODES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "positive": lambda response: np.maximum(response, 0.0),
    "negative": lambda response: np.maximum(-response, 0.0),
    "absolute": np.abs,
    "raw": lambda response: response - response.min(),
}
# Added to rows/columns left all zero by the transform: SpectralCoclustering divides by the square
# root of row and column sums, so a zero row or column would make NaNs. Relative to the largest
# entry it is far below float32 state precision, so it changes no other row's clustering.
ZERO_LINE_EPSILON = 1e-9
MAX_TOKEN_LABELS = 40


@dataclass(frozen=True, eq=False)
class Cocluster:
    """Cluster labels of rows (tokens) and columns (units), and the mean raw response per block."""

    row_labels: np.ndarray
    column_labels: np.ndarray
    edges: np.ndarray
    mode: str


def _block_means(
    response: np.ndarray, row_labels: np.ndarray, column_labels: np.ndarray, n_clusters: int
) -> np.ndarray:
    """Mean of ``response`` over each (row cluster, column cluster) block; NaN for an empty block."""
    row_onehot = np.eye(n_clusters)[row_labels]
    column_onehot = np.eye(n_clusters)[column_labels]
    sums = row_onehot.T @ response @ column_onehot
    sizes = np.outer(row_onehot.sum(axis=0), column_onehot.sum(axis=0))
    return np.divide(sums, sizes, out=np.full_like(sums, np.nan), where=sizes > 0)


def cocluster(response: np.ndarray, n_clusters: int, mode: str, seed: int) -> Cocluster:
    """Co-cluster tokens (rows) and units (columns) of ``response`` after the ``mode`` transform.

    A word cluster and a unit cluster share a label index (sklearn clusters rows and columns
    jointly), and a cluster may hold only rows or only columns; its edges are then NaN.
    """
    if mode not in MODES:
        raise ValueError(f"unknown co-clustering mode {mode!r}; allowed: {sorted(MODES)}")
    n_rows, n_columns = response.shape
    if not 2 <= n_clusters <= min(n_rows, n_columns):
        raise ValueError(
            f"n_clusters={n_clusters} must be between 2 and min(tokens, units) = "
            f"min({n_rows}, {n_columns}); lower n_clusters or keep more tokens"
        )
    response = np.asarray(response, dtype=np.float64)
    transformed = MODES[mode](response)
    scale = transformed.max()
    if scale <= 0:
        raise ValueError(f"mode={mode!r} leaves every response zero; pick another mode")
    transformed[transformed.sum(axis=1) == 0, :] += ZERO_LINE_EPSILON * scale
    transformed[:, transformed.sum(axis=0) == 0] += ZERO_LINE_EPSILON * scale

    started = time.perf_counter()
    model = SpectralCoclustering(n_clusters=n_clusters, random_state=seed).fit(transformed)
    log.info(
        "co-clustered %d tokens x %d units into %d clusters (%s) in %.1f s",
        n_rows,
        n_columns,
        n_clusters,
        mode,
        time.perf_counter() - started,
    )
    edges = _block_means(response, model.row_labels_, model.column_labels_, n_clusters)
    return Cocluster(model.row_labels_, model.column_labels_, edges, mode)


def cluster_tables(tokens: pd.Series, cocluster: Cocluster) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Word clusters (token, cluster), unit clusters (unit, cluster) and long-format edges.

    Edges: word_cluster i, unit_cluster j, strength e(W_i, H_j) (seed 002: the mean raw response
    over the block), and the block's sizes |W_i| (words) and |H_j| (units).
    """
    words = pd.DataFrame({"token": np.asarray(tokens), "cluster": cocluster.row_labels})
    units = pd.DataFrame({"unit": np.arange(len(cocluster.column_labels)), "cluster": cocluster.column_labels})
    n_clusters = cocluster.edges.shape[0]
    edges = pd.DataFrame(
        {
            "word_cluster": np.repeat(np.arange(n_clusters), n_clusters),
            "unit_cluster": np.tile(np.arange(n_clusters), n_clusters),
            "strength": cocluster.edges.ravel(),
            "words": np.repeat(np.bincount(cocluster.row_labels, minlength=n_clusters), n_clusters),
            "units": np.tile(np.bincount(cocluster.column_labels, minlength=n_clusters), n_clusters),
        }
    )
    return words, units, edges


def _cluster_ticks(labels: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of cluster boundaries and each present cluster's first row, in reordered rows."""
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    return starts, sorted_labels[starts]


def plot_cocluster(
    response: np.ndarray, tokens: pd.Series, cocluster: Cocluster, png_path: str | Path, title: str
) -> None:
    """Heatmap of the response with tokens and units grouped by cluster; writes PNG and SVG."""
    # Whitespace tokens (characters) would print as blanks or line breaks: show them escaped.
    token_values = np.asarray([display_token(token) for token in tokens], dtype=object)
    # stable: within a word cluster, tokens keep their (frequency) order
    row_order = np.argsort(cocluster.row_labels, kind="stable")
    column_order = np.argsort(cocluster.column_labels, kind="stable")
    shown = response[np.ix_(row_order, column_order)]
    limit = float(np.quantile(np.abs(shown), 0.99)) or 1.0  # a few outliers must not wash out the map

    fig, ax = plt.subplots(figsize=(12, 10))
    image = ax.imshow(
        shown,
        aspect="auto",
        interpolation="antialiased",
        cmap="RdBu_r",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit),
    )
    row_starts, row_clusters = _cluster_ticks(cocluster.row_labels, row_order)
    column_starts, column_clusters = _cluster_ticks(cocluster.column_labels, column_order)
    for start in row_starts[1:]:
        ax.axhline(start - 0.5, color="black", linewidth=0.8)
    for start in column_starts[1:]:
        ax.axvline(start - 0.5, color="black", linewidth=0.8)

    if len(token_values) <= MAX_TOKEN_LABELS:
        ax.set_yticks(np.arange(len(token_values)), token_values[row_order], fontsize=8)
    else:
        # one label per word cluster at the middle of its block: its most frequent tokens
        per_cluster = max(1, MAX_TOKEN_LABELS // len(row_starts))
        row_ends = np.r_[row_starts[1:], len(row_order)]
        labels = [
            f"W{cluster}: " + ", ".join(token_values[row_order[start : min(end, start + per_cluster)]])
            for cluster, start, end in zip(row_clusters, row_starts, row_ends, strict=True)
        ]
        ax.set_yticks((row_starts + row_ends - 1) / 2, labels, fontsize=8)
    column_ends = np.r_[column_starts[1:], len(column_order)]
    ax.set_xticks(
        (column_starts + column_ends - 1) / 2,
        [
            f"H{cluster}\n({end - start})"
            for cluster, start, end in zip(column_clusters, column_starts, column_ends, strict=True)
        ],
        fontsize=8,
    )
    ax.set_xlabel("hidden units, grouped by unit cluster (size)")
    ax.set_ylabel("tokens, grouped by word cluster (most frequent first)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="expected response s(x) = E[Δh | x]", extend="both")
    fig.tight_layout()
    save_figure(fig, png_path)


def _read_top_responses(responses_parquet: str | Path, max_tokens: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The ``max_tokens`` most frequent tokens (the file is sorted by count) and their responses."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    table = read_table(responses_parquet).slice(0, max_tokens)
    frame = table.select(list(RESPONSE_METADATA_COLUMNS)).to_pandas()
    units = [name for name in table.column_names if name not in RESPONSE_METADATA_COLUMNS]
    response = np.column_stack([table.column(name).to_numpy() for name in units])
    return frame, response


def run_coclustering(
    responses_parquet: str | Path,
    n_clusters: int,
    mode: str,
    seed: int,
    max_tokens: int,
    words_csv: str | Path,
    units_csv: str | Path,
    edges_csv: str | Path,
    plot_png: str | Path,
    title: str,
) -> None:
    """Co-cluster the ``max_tokens`` most frequent tokens' responses; write the three tables and the plot."""
    frame, response = _read_top_responses(responses_parquet, max_tokens)
    result = cocluster(response, n_clusters, mode, seed)
    words, units, edges = cluster_tables(frame["token"], result)
    for table, path in ((words, words_csv), (units, units_csv)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False)
    write_table(
        edges,
        edges_csv,
        f"{title}. Cluster edge strengths e(W_i, H_j) = 1/(|W_i| |H_j|) sum over x in W_i, y in H_j of "
        "s(x)_y (seed 002), the mean signed expected response of the block, whatever the co-clustering "
        "mode; NaN where a cluster holds no words or no units.",
    )
    plot_cocluster(response, frame["token"], result, plot_png, title)
