"""RNNVis sequence glyphs: how each hidden-unit cluster holds and updates information over a sentence.

Definitions (seed 002, "Glyph Design of Sequence Nodes", after Ming et al. 2017), for hidden
cluster H_i and step t with h^(t) the state after reading token t:

- aggregate information: α_i+^(t) = Σ_{h_j ∈ H_i, h_j > 0} h_j^(t) and
  α_i−^(t) = Σ_{h_j ∈ H_i, h_j < 0} h_j^(t); α_i^(t) = (α_i+^(t), α_i−^(t));
- updated information: Δα_i±^(t) = α_i±^(t) − α_i±^(t−1); the seed's "high value of the sum means
  H_i is highly correlated to x" is |Δα_i+^(t) + Δα_i−^(t)| (column ``updated``);
- preserved information: β_i^(t) = Σ_{h_j ∈ H_i} |h_j^(t−1)| min(1, max(0, h_j^(t) / h_j^(t−1))).

The glyph draws α_i^(t)/|H_i|, Δα_i±^(t)/|H_i| and β_i^(t) / (α_i+^(t) − α_i−^(t)) (the seed's
normalisations). Conventions chosen here: each sentence is run alone from the zero initial state
(as extraction starts a split), so h^(−1) = 0, α^(−1) = 0 and β^(0) = 0; a unit with
h_j^(t−1) = 0 contributes 0 to β (its |h_j^(t−1)| factor is 0), and the preserved fraction is NaN
when α_i+^(t) − α_i−^(t) = 0 (the cluster holds nothing). β ≤ Σ|h^(t)| of the cluster, so the
preserved fraction lies in [0, 1].

A token is what the model reads: for a character model (every vocabulary entry one character)
the sentence is fed character by character; for a word model it is split on whitespace and
words outside the vocabulary become ``<unk>``.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes

from rnnscope.artifacts import write_table
from rnnscope.extract import chunk_states, layer_modules, resolve_kinds
from rnnscope.figures import save_figure
from rnnscope.models import load_model
from rnnscope.states import parse_state_column
from rnnscope.text import display_token, load_vocab

log = logging.getLogger(__name__)

UNKNOWN = "<unk>"
# Resolution of the glyph figures (and of rnnvis's views, drawn with the same glyphs).

# RNNVis's colours: orange = more positive information (or less negative), blue = the reverse.
ORANGE = "#f28e2b"
BLUE = "#4e79a7"
GREY = "#c8c8c8"
QUANTITIES = (
    "alpha_pos",
    "alpha_neg",
    "delta_alpha_pos",
    "delta_alpha_neg",
    "updated",
    "beta",
    "preserved",
)


def vocab_is_characters(vocab: Sequence[str]) -> bool:
    """True for a character model: every vocabulary entry is one character."""
    return all(len(token) == 1 for token in vocab)


def tokenize_sentence(sentence: str, vocab: Sequence[str]) -> list[str]:
    """The tokens the model reads for ``sentence`` (characters or whitespace-split words)."""
    known = set(vocab)
    tokens = list(sentence) if vocab_is_characters(vocab) else sentence.split()
    if not tokens:
        raise ValueError(f"sentence {sentence!r} has no tokens; remove it from rnnvis.sentences")
    unknown = sorted({token for token in tokens if token not in known})
    if unknown and UNKNOWN not in known:
        raise ValueError(
            f"sentence {sentence!r} has token(s) {unknown} outside the vocabulary, which has no "
            f"{UNKNOWN!r} to map them to; rewrite the sentence with known tokens"
        )
    return [token if token in known else UNKNOWN for token in tokens]


@torch.no_grad()
def sentence_states(
    checkpoint: str | Path, vocab_path: str | Path, sentences: Sequence[str], columns: Sequence[str]
) -> list[tuple[list[str], dict[str, np.ndarray]]]:
    """Per sentence, its tokens and the (tokens × hidden) states of ``columns``, each sentence from zero."""
    model, _ = load_model(checkpoint)
    vocab = load_vocab(vocab_path)
    index = {token: i for i, token in enumerate(vocab)}
    kinds = resolve_kinds(model.config.cell, sorted({parse_state_column(column)[1] for column in columns}))
    modules = layer_modules(model)
    results = []
    for sentence in sentences:
        tokens = tokenize_sentence(sentence, vocab)
        ids = torch.tensor([index[token] for token in tokens], dtype=torch.long)
        states, _ = chunk_states(model, modules, ids, [None] * model.config.layers, kinds)
        results.append((tokens, {column: states[column] for column in columns}))
    return results


def glyph_quantities(states: np.ndarray, unit_labels: np.ndarray, n_clusters: int) -> pd.DataFrame:
    """Seed 002's α±, Δα±, |Δα+ + Δα−|, β and β/(α+ − α−) per (step, cluster) of (T × H) ``states``.

    ``unit_labels[j]`` is unit j's hidden cluster; h^(−1) = 0 (see the module docstring). Raw
    sums (not divided by |H_i|) plus ``size`` = |H_i|, so the glyph's per-unit values are
    ``alpha_pos / size`` etc.
    """
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 2 or states.shape[1] != len(unit_labels):
        raise ValueError(f"states of shape {states.shape} do not match {len(unit_labels)} unit labels")
    steps = len(states)
    previous = np.vstack([np.zeros((1, states.shape[1])), states[:-1]])
    onehot = np.eye(n_clusters)[unit_labels]  # units × clusters
    alpha_pos = np.where(states > 0, states, 0.0) @ onehot
    alpha_neg = np.where(states < 0, states, 0.0) @ onehot
    previous_pos = np.vstack([np.zeros((1, n_clusters)), alpha_pos[:-1]])
    previous_neg = np.vstack([np.zeros((1, n_clusters)), alpha_neg[:-1]])
    ratio = np.divide(states, previous, out=np.zeros_like(states), where=previous != 0)
    beta = (np.abs(previous) * np.clip(ratio, 0.0, 1.0)) @ onehot
    delta_pos, delta_neg = alpha_pos - previous_pos, alpha_neg - previous_neg
    held = alpha_pos - alpha_neg
    table = pd.DataFrame(
        {
            "step": np.repeat(np.arange(steps), n_clusters),
            "cluster": np.tile(np.arange(n_clusters), steps),
            "size": np.tile(onehot.sum(axis=0).astype(int), steps),
            "alpha_pos": alpha_pos.ravel(),
            "alpha_neg": alpha_neg.ravel(),
            "delta_alpha_pos": delta_pos.ravel(),
            "delta_alpha_neg": delta_neg.ravel(),
            "updated": np.abs(delta_pos + delta_neg).ravel(),
            "beta": beta.ravel(),
            "preserved": np.divide(beta, held, out=np.full_like(beta, np.nan), where=held > 0).ravel(),
        }
    )
    return table


def sentence_glyphs(
    checkpoint: str | Path,
    vocab_path: str | Path,
    unit_clusters_csv: str | Path,
    column: str,
    sentences: Sequence[str],
) -> pd.DataFrame:
    """Glyph quantities of every sentence, token and hidden cluster of ``column`` (long table)."""
    units = pd.read_csv(unit_clusters_csv).sort_values("unit")
    labels = units["cluster"].to_numpy()
    n_clusters = int(labels.max()) + 1
    parts = []
    for number, (sentence, (tokens, states)) in enumerate(
        zip(sentences, sentence_states(checkpoint, vocab_path, sentences, [column]), strict=True)
    ):
        table = glyph_quantities(states[column], labels, n_clusters)
        table.insert(0, "token", np.asarray(tokens, dtype=object)[table["step"]])
        table.insert(0, "sentence", sentence)
        table.insert(0, "sentence_index", number)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def draw_glyph_column(ax: Axes, table: pd.DataFrame, scale: float, title: str) -> None:
    """One sentence's glyphs top to bottom: per token, one bar per hidden cluster.

    Bar above the zero line: α+/|H| (grey, orange where it grew this step, blue outline where it
    shrank); below: α−/|H| (grey, blue where it grew more negative, orange outline where it
    shrank). The black tick above each bar is the preserved fraction β/(α+ − α−) per cluster.
    """
    steps = int(table["step"].max()) + 1
    n_clusters = int(table["cluster"].max()) + 1
    half = 0.38  # half a row's height for the bars
    width = 0.8 / n_clusters
    # One bar call per layer of the glyph (not per cell): hundreds of tokens draw in a second.
    y0 = -table["step"].to_numpy() * 1.2  # zero line of each step's glyph
    x = table["cluster"].to_numpy() * width + width / 2
    size = np.maximum(table["size"].to_numpy(), 1) * scale / half  # a cluster without units has α = 0
    pos, neg = table["alpha_pos"].to_numpy() / size, table["alpha_neg"].to_numpy() / size
    d_pos, d_neg = table["delta_alpha_pos"].to_numpy() / size, table["delta_alpha_neg"].to_numpy() / size
    bar: dict[str, Any] = dict(width=width * 0.8, linewidth=0)
    outline: dict[str, Any] = dict(width=width * 0.8, linewidth=0.6, fill=False)
    ax.bar(x, pos, bottom=y0, color=GREY, **bar)
    ax.bar(x, neg, bottom=y0, color=GREY, **bar)
    grew, lost = d_pos > 0, d_pos < 0  # new positive information: the top part of the positive bar
    ax.bar(x[grew], d_pos[grew], bottom=(y0 + pos - d_pos)[grew], color=ORANGE, **bar)
    ax.bar(x[lost], -d_pos[lost], bottom=(y0 + pos)[lost], edgecolor=BLUE, **outline)
    grew, lost = d_neg < 0, d_neg > 0  # new negative information: the bottom part of the negative bar
    ax.bar(x[grew], d_neg[grew], bottom=(y0 + neg - d_neg)[grew], color=BLUE, **bar)
    ax.bar(x[lost], -d_neg[lost], bottom=(y0 + neg)[lost], edgecolor=ORANGE, **outline)
    ax.hlines(-np.arange(steps) * 1.2, 0, n_clusters * width, color="black", linewidth=0.3)
    # control chart: per cluster a tick whose height above the bars is the preserved fraction
    preserved = y0 + half + 0.05 + 0.15 * table["preserved"].fillna(0).to_numpy()
    ax.hlines(preserved, x - width * 0.4, x + width * 0.4, color="black", linewidth=0.8)
    labels = table.drop_duplicates("step").sort_values("step")["token"]
    ax.set_yticks(-np.arange(steps) * 1.2, [display_token(token) for token in labels], fontsize=7)
    ax.set_xticks(np.arange(n_clusters) * width + width / 2, [f"H{k}" for k in range(n_clusters)], fontsize=7)
    ax.set_xlim(0, n_clusters * width)
    ax.set_ylim(-(steps - 1) * 1.2 - 0.6, 0.75)
    ax.set_title(title, fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def glyph_scale(table: pd.DataFrame) -> float:
    """Largest per-unit |α| in ``table``: glyph bars of every sentence share one scale."""
    size = np.maximum(table["size"], 1)
    per_unit = np.abs(np.r_[table["alpha_pos"] / size, table["alpha_neg"] / size])
    return float(np.nanmax(per_unit)) or 1.0


def plot_glyphs(table: pd.DataFrame, png_path: str | Path, title: str) -> None:
    """All sentences' glyph columns side by side; PNG and SVG."""
    sentences = table.drop_duplicates("sentence_index").sort_values("sentence_index")
    steps = int(table.groupby("sentence_index")["step"].max().max()) + 1
    fig, axes = plt.subplots(1, len(sentences), figsize=(3.2 * len(sentences), 0.9 + 0.28 * steps), squeeze=False)
    scale = glyph_scale(table)
    for ax, sentence in zip(axes[0], sentences.to_dict("records"), strict=True):
        draw_glyph_column(ax, table[table["sentence_index"] == sentence["sentence_index"]], scale, sentence["sentence"])
    fig.suptitle(textwrap.fill(title, 45 * len(sentences)), fontsize=8)
    fig.tight_layout()
    save_figure(fig, png_path)


def run_glyphs(
    checkpoint: str | Path,
    vocab_path: str | Path,
    unit_clusters_csv: str | Path,
    column: str,
    sentences: Sequence[str],
    glyphs_csv: str | Path,
    glyphs_png: str | Path,
    title: str,
) -> None:
    """Glyph table (CSV + Markdown caption) and figure of ``sentences`` for one model and state column."""
    if not sentences:
        raise ValueError("rnnvis.sentences is empty; list at least one sentence")
    table = sentence_glyphs(checkpoint, vocab_path, unit_clusters_csv, column, sentences)
    write_table(
        table,
        glyphs_csv,
        f"{title}. Seed 002's glyph quantities per sentence, token (step) and hidden cluster: "
        "alpha_pos/alpha_neg = sums of the positive/negative units' values (aggregate information), "
        "delta_alpha_* = change from the previous step, updated = |Δα+ + Δα−|, beta = preserved "
        "information, preserved = beta / (alpha_pos − alpha_neg); size = units in the cluster. "
        "Each sentence runs from the zero state; clusters from unit_clusters.csv.",
    )
    plot_glyphs(table, glyphs_png, title)
