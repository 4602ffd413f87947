"""RNNVis views (Ming et al. 2017, seeds 001/002) drawn from the pipeline's tables.

- main view: hidden-unit clusters as "memory chips" (one square cell per unit, coloured by its
  expected response), word clusters as ranked word lists, and edges e(W_i, H_j) between them
  drawn with width ∝ |e| and colour by sign (orange positive, blue negative);
- detail view: for chosen tokens, the response over all units sorted, with the 25–75 and 9–91
  percentile bands of Δh, and the universal part of speech (NLTK) of the co-clustered words;
- model comparison: two models' main views and glyphs side by side, and how their word clusters
  overlap (contingency counts, adjusted Rand index, adjusted mutual information).
"""

from __future__ import annotations

import logging
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
from matplotlib.patches import Rectangle
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

from rnnscope.artifacts import write_table
from rnnscope.figures import save_figure
from rnnscope.glyphs import BLUE, ORANGE, draw_glyph_column, glyph_scale
from rnnscope.responses import RESPONSE_METADATA_COLUMNS
from rnnscope.states import reading_parquet
from rnnscope.tagger import use_tagger_data
from rnnscope.text import display_token

log = logging.getLogger(__name__)

RESPONSE_COLORMAP = LinearSegmentedColormap.from_list("rnnvis", [BLUE, "#f7f7f7", ORANGE])
# Tokens no English tagger can place (whitespace characters, <unk>): the universal tagset's "other".
OTHER_TAG = "X"


def read_clustered_responses(
    responses_parquet: str | Path, word_clusters_csv: str | Path, unit_clusters_csv: str | Path
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The co-clustered words (token, count, cluster, in file order), their responses and unit labels."""
    words = pd.read_csv(word_clusters_csv, keep_default_na=False, dtype={"token": str})
    units = pd.read_csv(unit_clusters_csv).sort_values("unit")
    with reading_parquet(responses_parquet):
        table = pd.read_parquet(responses_parquet)
    unit_columns = [name for name in table.columns if name not in RESPONSE_METADATA_COLUMNS]
    if len(unit_columns) != len(units):
        raise ValueError(
            f"{responses_parquet} has {len(unit_columns)} units but {unit_clusters_csv} lists {len(units)}"
        )
    table = table.set_index("token")
    missing = sorted(set(words["token"]) - set(table.index))
    if missing:
        raise ValueError(f"tokens {missing[:5]} of {word_clusters_csv} are not in {responses_parquet}; rerun cocluster")
    words = words.assign(count=table.loc[words["token"], "count"].to_numpy())
    return words, table.loc[words["token"], unit_columns].to_numpy(), units["cluster"].to_numpy()


def edge_matrix(edges_csv: str | Path, n_clusters: int) -> np.ndarray:
    """e(W_i, H_j) as a (word cluster × unit cluster) matrix from the long edges table."""
    edges = pd.read_csv(edges_csv)
    matrix = np.full((n_clusters, n_clusters), np.nan)
    matrix[edges["word_cluster"], edges["unit_cluster"]] = edges["strength"]
    return matrix


def draw_main_view(
    ax: Axes,
    words: pd.DataFrame,
    response: np.ndarray,
    unit_labels: np.ndarray,
    edges: np.ndarray,
    words_per_cluster: int,
    link_filter: float,
    title: str,
) -> None:
    """Memory chips (left), ranked word lists (right) and signed edges between them.

    A unit's cell shows its mean response to the words of its paired word cluster (sklearn pairs
    word cluster k with unit cluster k); words are ranked by the absolute mean response to their
    paired unit cluster; an edge is drawn when |e| >= link_filter × the largest |e|.
    """
    n_clusters = edges.shape[0]
    word_labels = words["cluster"].to_numpy()
    tokens = np.asarray([display_token(token) for token in words["token"]], dtype=object)
    colour_limit = float(np.nanmax(np.abs(response))) or 1.0
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-colour_limit, vmax=colour_limit)
    slot = 1.0  # vertical space per cluster pair
    centres = -np.arange(n_clusters) * slot
    cells, colours = [], []
    chip_anchor, word_anchor = centres.copy(), centres.copy()  # where edges meet chips and word lists
    for k in range(n_clusters):
        units = np.flatnonzero(unit_labels == k)
        partner = word_labels == k if (word_labels == k).any() else np.ones(len(words), bool)
        values = response[np.ix_(partner, units)].mean(axis=0) if len(units) else np.zeros(0)
        top = centres[k] + 0.38
        ax.text(0.0, top + 0.02, f"H{k} ({len(units)} units)", fontsize=7, va="bottom")
        if len(units):
            columns = max(1, math.ceil(math.sqrt(len(units) * 3)))
            rows = math.ceil(len(units) / columns)
            size = min(1.0 / columns, 0.7 / rows)
            chip_anchor[k] = top - rows * size / 2
            for index, value in enumerate(values):
                row, column = divmod(index, columns)
                cells.append(Rectangle((column * size, top - (row + 1) * size), size * 0.9, size * 0.9))
                colours.append(value)
        ax.text(2.2, top + 0.02, f"W{k} ({int((word_labels == k).sum())} words)", fontsize=7, va="bottom")
        members = np.flatnonzero(word_labels == k)
        if len(members):
            own_units = unit_labels == k
            strength = (
                np.abs(response[np.ix_(members, own_units)].mean(axis=1)) if own_units.any() else np.zeros(len(members))
            )
            ranked = members[np.argsort(-strength, kind="stable")][:words_per_cluster]
            per_column = 5
            word_anchor[k] = top - 0.1 - (min(len(ranked), per_column) - 1) * 0.15 / 2
            for rank, member in enumerate(ranked):
                column, row = divmod(rank, per_column)
                ax.text(
                    2.2 + 0.45 * column,
                    top - 0.1 - row * 0.15,
                    tokens[member],
                    fontsize=max(5.0, 10.0 - 0.5 * rank),
                    va="center",
                )
    collection = PatchCollection(cells, cmap=RESPONSE_COLORMAP, norm=norm, linewidth=0)
    collection.set_array(np.asarray(colours))
    ax.add_collection(collection)
    largest = float(np.nanmax(np.abs(edges))) if np.isfinite(edges).any() else 0.0
    for i in range(n_clusters):
        for j in range(n_clusters):
            strength = edges[i, j]
            if not np.isfinite(strength) or largest == 0 or abs(strength) < link_filter * largest:
                continue
            ax.plot(
                [1.05, 2.15],
                [chip_anchor[j], word_anchor[i]],
                color=ORANGE if strength > 0 else BLUE,
                linewidth=0.4 + 5.0 * abs(strength) / largest,
                alpha=0.7,
                solid_capstyle="butt",
            )
    ax.set_xlim(-0.05, 3.6)
    ax.set_ylim(centres[-1] - 0.6, 0.6)
    ax.axis("off")
    ax.set_title(textwrap.fill(title, 100), fontsize=8)
    plt.colorbar(collection, ax=ax, fraction=0.03, pad=0.01, label="mean response to paired word cluster")


def run_main_view(
    responses_parquet: str | Path,
    word_clusters_csv: str | Path,
    unit_clusters_csv: str | Path,
    edges_csv: str | Path,
    plot_png: str | Path,
    words_per_cluster: int,
    link_filter: float,
    title: str,
) -> None:
    words, response, unit_labels = read_clustered_responses(responses_parquet, word_clusters_csv, unit_clusters_csv)
    edges = edge_matrix(edges_csv, int(max(words["cluster"].max(), unit_labels.max())) + 1)
    fig, ax = plt.subplots(figsize=(9, 1.6 + 1.5 * edges.shape[0]))
    draw_main_view(ax, words, response, unit_labels, edges, words_per_cluster, link_filter, title)
    fig.tight_layout()
    save_figure(fig, plot_png)


def pos_tags(tokens: Sequence[str], tagger_data: str | Path | None) -> list[str]:
    """Universal part-of-speech tag of each token tagged alone (nltk.pos_tag, tagset="universal").

    A token is tagged without context because the word lists are types, not running text.
    Whitespace-only tokens and ``<unk>`` get ``X`` (other). ``tagger_data`` is the folder of
    NLTK's tagger files (see rnnscope.tagger).
    """
    import nltk

    use_tagger_data(tagger_data)
    taggable = [token.strip() != "" and token != "<unk>" for token in tokens]
    tagged = iter(
        nltk.pos_tag_sents([[token] for token, ok in zip(tokens, taggable, strict=True) if ok], tagset="universal")
    )
    return [next(tagged)[0][1] if ok else OTHER_TAG for ok in taggable]


def draw_detail(ax: Axes, bands: pd.DataFrame, token: str) -> None:
    """Units sorted by mean response to ``token`` with its 9–91 and 25–75 percentile bands of Δh."""
    rows = bands[bands["token"] == token].sort_values("response", kind="stable")
    rank = np.arange(len(rows))
    ax.fill_between(rank, rows["p9"], rows["p91"], color=ORANGE, alpha=0.2, linewidth=0, label="9–91%")
    ax.fill_between(rank, rows["p25"], rows["p75"], color=ORANGE, alpha=0.45, linewidth=0, label="25–75%")
    ax.plot(rank, rows["p50"], color="black", linewidth=0.6, linestyle="--", label="median")
    ax.plot(rank, rows["response"], color=BLUE, linewidth=1.0, label="mean s(x)")
    ax.axhline(0, color="grey", linewidth=0.4)
    count, samples = int(rows["count"].iloc[0]), int(rows["samples"].iloc[0])
    ax.set_title(
        f"{display_token(token)!r}: {count} occurrences" + (f", bands from {samples}" if samples < count else ""),
        fontsize=8,
    )
    ax.set_xlabel("units, sorted by mean response", fontsize=7)
    ax.set_ylabel("Δh", fontsize=7)
    ax.tick_params(labelsize=6)


def run_detail_view(
    responses_parquet: str | Path,
    word_clusters_csv: str | Path,
    unit_clusters_csv: str | Path,
    bands_parquet: str | Path,
    pos_csv: str | Path,
    plot_png: str | Path,
    tokens: Sequence[str],
    tagger_data: str | Path | None,
    title: str,
    tag_pos: bool = True,
) -> None:
    """Detail figure (one panel per requested token present, then POS per word cluster) and POS table.

    With ``tag_pos`` False the table's ``pos`` column is empty and the POS panel is left out.
    """
    words, _, _ = read_clustered_responses(responses_parquet, word_clusters_csv, unit_clusters_csv)
    words = words.assign(pos=pos_tags(words["token"].tolist(), tagger_data) if tag_pos else "")
    write_table(
        words.rename(columns={"cluster": "word_cluster"})[["token", "count", "word_cluster", "pos"]],
        pos_csv,
        f"{title}. Universal part of speech (nltk.pos_tag, tagset='universal', each token tagged alone; "
        "whitespace and <unk> as X) of the co-clustered tokens, with their train-split count and word cluster."
        + ("" if tag_pos else " POS tagging was off (rnnvis.pos_tags: false): the pos column is empty."),
    )
    with reading_parquet(bands_parquet):
        bands = pd.read_parquet(bands_parquet)
    shown = [token for token in dict.fromkeys(tokens) if token in set(bands["token"])]
    if len(shown) < len(tokens):
        log.info("detail tokens without bands (absent or below min_count): %s", [t for t in tokens if t not in shown])
    panels = len(shown) + int(tag_pos)
    if panels == 0:
        raise ValueError(
            f"none of the detail tokens {list(tokens)} has bands (absent or rarer than cluster.min_count) and "
            "POS tagging is off: nothing to draw; list tokens the model sees in rnnvis.detail_tokens"
        )
    columns = min(3, panels)
    rows = math.ceil(panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    flat = axes.ravel()
    for ax, token in zip(flat, shown, strict=False):
        draw_detail(ax, bands, token)
    if shown:
        flat[0].legend(fontsize=6, loc="upper left")
    if tag_pos:
        composition = pd.crosstab(words["cluster"], words["pos"])
        composition.index = [f"W{k}" for k in composition.index]
        composition.plot.barh(stacked=True, ax=flat[len(shown)], colormap="tab20", width=0.7)
        flat[len(shown)].set_title("POS of each word cluster's tokens", fontsize=8)
        flat[len(shown)].set_xlabel("tokens", fontsize=7)
        flat[len(shown)].legend(fontsize=6, ncol=2)
    for ax in flat[panels:]:
        ax.axis("off")
    missing = [token for token in tokens if token not in shown]
    fig.suptitle(
        textwrap.fill(title, 60 * columns)
        + (f"\n(no bands for {', '.join(map(repr, missing))}: absent or rarer than min_count)" if missing else ""),
        fontsize=9,
    )
    fig.tight_layout()
    save_figure(fig, plot_png)


def word_cluster_overlap(words_a: pd.DataFrame, words_b: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Contingency counts of two word clusterings over their common tokens, and ARI / AMI."""
    merged = words_a[["token", "cluster"]].merge(words_b[["token", "cluster"]], on="token", suffixes=("_a", "_b"))
    if merged.empty:
        raise ValueError("the two models' co-clusters share no token; compare models over the same dataset")
    counts = contingency_matrix(merged["cluster_a"], merged["cluster_b"])
    labels_a, labels_b = np.unique(merged["cluster_a"]), np.unique(merged["cluster_b"])
    long = pd.DataFrame(
        [
            {
                "word_cluster_a": int(a),
                "word_cluster_b": int(b),
                "tokens": int(counts[i, j]),
                "examples": " ".join(
                    display_token(t)
                    for t in merged[(merged["cluster_a"] == a) & (merged["cluster_b"] == b)]["token"][:8]
                ),
            }
            for i, a in enumerate(labels_a)
            for j, b in enumerate(labels_b)
        ]
    )
    scores = {
        "common_tokens": len(merged),
        "tokens_a": len(words_a),
        "tokens_b": len(words_b),
        "adjusted_rand": float(adjusted_rand_score(merged["cluster_a"], merged["cluster_b"])),
        "adjusted_mutual_info": float(adjusted_mutual_info_score(merged["cluster_a"], merged["cluster_b"])),
    }
    return long, scores


def run_comparison(
    models: Sequence[str],
    column: str,
    responses: Sequence[str | Path],
    word_clusters: Sequence[str | Path],
    unit_clusters: Sequence[str | Path],
    edges: Sequence[str | Path],
    glyphs: Sequence[str | Path],
    overlap_csv: str | Path,
    summary_csv: str | Path,
    plot_png: str | Path,
    words_per_cluster: int,
    link_filter: float,
    title: str,
) -> None:
    """Two models side by side: main views on top, each sentence's glyphs below; overlap tables."""
    if len(models) != 2:
        raise ValueError(f"a comparison takes exactly two models, got {list(models)}")
    views, glyph_tables = [], []
    for index in range(2):
        words, response, unit_labels = read_clustered_responses(
            responses[index], word_clusters[index], unit_clusters[index]
        )
        views.append(
            (
                words,
                response,
                unit_labels,
                edge_matrix(edges[index], int(max(words["cluster"].max(), unit_labels.max())) + 1),
            )
        )
        glyph_tables.append(pd.read_csv(glyphs[index], keep_default_na=False, na_values=[""], dtype={"token": str}))
    long, scores = word_cluster_overlap(views[0][0], views[1][0])
    write_table(
        long,
        overlap_csv,
        f"{title}. Tokens co-clustered by both models, counted per pair of word clusters "
        f"(a = {models[0]}, b = {models[1]}), with up to 8 example tokens.",
    )
    write_table(
        pd.DataFrame([{"model_a": models[0], "model_b": models[1], "column": column, **scores}]),
        summary_csv,
        f"{title}. Agreement of the two models' word clusters over their common tokens: adjusted Rand "
        "index and adjusted mutual information (sklearn.metrics; 0 = chance, 1 = identical partitions).",
    )
    sentences = glyph_tables[0].drop_duplicates("sentence_index")["sentence_index"].tolist()
    steps = int(max(table["step"].max() for table in glyph_tables)) + 1
    clusters = max(view[3].shape[0] for view in views)
    heights = [1.6 + 1.5 * clusters] + [0.6 + 0.28 * steps] * len(sentences)
    fig, axes = plt.subplots(
        1 + len(sentences), 2, figsize=(16, sum(heights)), gridspec_kw={"height_ratios": heights}, squeeze=False
    )
    for index, name in enumerate(models):
        words, response, unit_labels, edge_values = views[index]
        draw_main_view(
            axes[0, index],
            words,
            response,
            unit_labels,
            edge_values,
            words_per_cluster,
            link_filter,
            f"{name} {column}",
        )
        scale = glyph_scale(glyph_tables[index])
        for row, sentence_index in enumerate(sentences, start=1):
            table = glyph_tables[index][glyph_tables[index]["sentence_index"] == sentence_index]
            draw_glyph_column(axes[row, index], table, scale, f"{name}: {table['sentence'].iloc[0]}")
    fig.suptitle(
        f"{textwrap.fill(title, 180)}\nword clusters over {scores['common_tokens']} common tokens: ARI {scores['adjusted_rand']:.3f}, AMI {scores['adjusted_mutual_info']:.3f}",
        fontsize=9,
    )
    fig.tight_layout()
    save_figure(fig, plot_png)
