"""The Yelp sentiment classifier's RNNVis views beside seeds 001/002's second case study.

What the seeds say about their Yelp GRU (quoted; they give no numbers) beside what our run
measures on the same views (co-clusters, edges, glyphs of the two "though" sentences). Word
polarity comes from the train split's labels: a word's log-odds that a sentence holding it is
positive, against the base rate.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnscope.artifacts import write_table
from rnnscope.glyphs import sentence_states
from rnnscope.models import load_model
from rnnscope.rnnvis import edge_matrix, read_clustered_responses
from rnnscope.sentiment import LABEL_NAMES, read_split

log = logging.getLogger(__name__)

# Seed 001 (a review of Ming et al.'s RNNVis), "Case studies", on the Yelp sentiment GRU.
SEED001_YELP_WORD_CLOUDS = (
    "the co-clustering visualisation clearly showed two different word clouds for words with positive "
    "and negative sentiments"
)
SEED001_YELP_THOUGH = (
    "the GRU had learned to distinguish differing impacts of the word 'though' based on context: the "
    "response to 'though' in 'I love the food, though the staff is not helpful,' and 'The staff is not "
    "helpful, though I love the food' is different in each case (more impactful in the former)"
)
# Seed 002 (RNNVis slides), "Sentiment Analysis: Yelp Data Challenge": two figures captioned with
# the sentence pair below, no numbers.
SEED002_YELP_SENTENCES = (
    "I love the food though staff is not helpful",
    "The staff is not helpful though i love the food",
)

PIVOT = "though"  # the word whose impact seed 001 compares between the two sentences


def word_log_odds(frame: pd.DataFrame) -> pd.DataFrame:
    """Per word of labelled sentences (``text``, ``label`` 1 = positive): the sentences holding it per
    label and ``log_odds`` = log((positive + ½) / (negative + ½)) − log(P / N), P and N the
    positive and negative sentences: 0 for a word as common in both as sentences are."""
    counts: dict[int, Counter[str]] = {label: Counter() for label in (0, 1)}
    for text, label in zip(frame["text"], frame["label"], strict=True):
        counts[int(label)].update(set(text.split()))
    words = sorted(set(counts[0]) | set(counts[1]))
    positive = np.array([counts[1][word] for word in words], dtype=float)
    negative = np.array([counts[0][word] for word in words], dtype=float)
    base = np.log((frame["label"] == 1).sum() / max((frame["label"] == 0).sum(), 1))
    return pd.DataFrame(
        {
            "token": words,
            "positive": positive,
            "negative": negative,
            "log_odds": np.log((positive + 0.5) / (negative + 0.5)) - base,
        }
    )


def polarity(log_odds: pd.Series, threshold: float) -> np.ndarray:
    """``positive`` / ``negative`` where |log-odds| ≥ ``threshold``, else ``neutral``."""
    return np.where(log_odds >= threshold, "positive", np.where(log_odds <= -threshold, "negative", "neutral"))


@torch.no_grad()
def model_findings(
    responses_parquet: str | Path,
    word_clusters_csv: str | Path,
    unit_clusters_csv: str | Path,
    edges_csv: str | Path,
    glyphs_csv: str | Path,
    checkpoint: str | Path,
    vocab_path: str | Path,
    lexicon: pd.DataFrame,
    threshold: float,
) -> list[dict]:
    """Rows (finding, seed, item, measure, value, detail) of one model's views beside the seeds."""
    words, response, unit_labels = read_clustered_responses(responses_parquet, word_clusters_csv, unit_clusters_csv)
    odds = lexicon.set_index("token")["log_odds"].reindex(words["token"]).fillna(0.0).to_numpy()
    words = words.assign(log_odds=odds, polarity=polarity(pd.Series(odds), threshold))
    n_clusters = int(pd.read_csv(edges_csv)["word_cluster"].max()) + 1
    edges = edge_matrix(edges_csv, n_clusters)
    clouds, units, though = (
        "word clouds of positive and negative words",
        "units respond with opposite signs",
        f"impact of '{PIVOT}'",
    )
    rows = []

    def row(finding: str, seed: str, item: str, measure: str, value: float, detail: str = "") -> None:
        rows.append(
            {"finding": finding, "seed": seed, "item": item, "measure": measure, "value": value, "detail": detail}
        )

    polar = words[words["polarity"] != "neutral"]
    counts = pd.crosstab(polar["cluster"], polar["polarity"]).reindex(columns=["positive", "negative"], fill_value=0)
    for cluster, part in words.groupby("cluster"):
        shares = {name: float((part["polarity"] == name).mean()) for name in ("positive", "negative")}
        examples = {name: ", ".join(part.loc[part["polarity"] == name, "token"].head(5)) or "none" for name in shares}
        detail = (
            f"{len(part)} words; positive e.g. {examples['positive']}; negative e.g. {examples['negative']}; "
            "edges e(W, H_j): " + ", ".join(f"H{j} {edges[cluster, j]:+.3g}" for j in range(n_clusters))  # type: ignore[index]  # cluster: an int group key, typed any scalar
        )
        row(clouds, SEED001_YELP_WORD_CLOUDS, f"W{cluster}", "share of positive words", shares["positive"], detail)
        row(clouds, SEED001_YELP_WORD_CLOUDS, f"W{cluster}", "share of negative words", shares["negative"])
    purity = counts.max(axis=1).sum() / max(counts.to_numpy().sum(), 1)
    row(
        clouds,
        SEED001_YELP_WORD_CLOUDS,
        "all word clusters",
        "polarity purity",
        float(purity),
        f"of the {len(polar)} polar co-clustered words, the share in a cluster whose polar words are mostly of "
        "their polarity (1: positive and negative words never share a cluster; about 0.5: fully mixed)",
    )

    is_pos, is_neg = (words["polarity"] == "positive").to_numpy(), (words["polarity"] == "negative").to_numpy()
    mean_pos = response[is_pos].mean(axis=0) if is_pos.any() else np.full(response.shape[1], np.nan)
    mean_neg = response[is_neg].mean(axis=0) if is_neg.any() else np.full(response.shape[1], np.nan)
    for cluster in range(n_clusters):
        members = unit_labels == cluster
        if members.any():
            for name, means in (("positive", mean_pos), ("negative", mean_neg)):
                row(
                    units,
                    SEED001_YELP_WORD_CLOUDS,
                    f"H{cluster} ({int(members.sum())} units)",
                    f"mean response s(x) to {name} words",
                    float(means[members].mean()),
                )
    row(
        units,
        SEED001_YELP_WORD_CLOUDS,
        "all units",
        "share of units answering positive and negative words with opposite signs",
        float(np.mean(np.sign(mean_pos) * np.sign(mean_neg) < 0)),
        f"{int(is_pos.sum())} positive, {int(is_neg.sum())} negative co-clustered words",
    )
    model, _ = load_model(checkpoint)
    readout = response @ (model.decoder.weight[1] - model.decoder.weight[0]).double().numpy()
    row(
        units,
        SEED001_YELP_WORD_CLOUDS,
        "all co-clustered words",
        "correlation of s(x)·(u_pos − u_neg) with the word's log-odds",
        float(np.corrcoef(readout, odds)[0, 1]),
        "seed 002: a word's contribution to class i is exp(u_i·Δh); here with its expected response s(x)",
    )

    glyphs = pd.read_csv(glyphs_csv, keep_default_na=False, na_values=[""], dtype={"token": str})
    sentences = glyphs.drop_duplicates("sentence_index").sort_values("sentence_index")["sentence"].tolist()
    top = f"l{model.config.layers - 1}_h"
    impact: dict[str, list[float]] = {"updated information": [], "‖Δh‖": []}
    pivoted = []
    for number, (sentence, (tokens, states)) in enumerate(
        zip(sentences, sentence_states(checkpoint, vocab_path, sentences, [top]), strict=True)
    ):
        if PIVOT not in sentence.split():
            continue
        step = sentence.split().index(PIVOT)
        h = np.vstack([np.zeros_like(states[top][:1]), states[top]])  # h[t + 1]: after word t; h[0]: the zero state
        # P(positive) the decoder reads from the state after each prefix (h[0]: before any word).
        probability = torch.softmax(model.decoder(torch.from_numpy(h)), dim=-1)[
            :, LABEL_NAMES.index("positive")
        ].numpy()
        updated = glyphs.loc[(glyphs["sentence_index"] == number) & (glyphs["step"] == step), "updated"].sum()
        pivoted.append(sentence)
        impact["updated information"].append(float(updated))
        impact["‖Δh‖"].append(float(np.linalg.norm(h[step + 1] - h[step])))
        read = f"read as {tokens[step]!r}" if tokens[step] != PIVOT else ""
        # (no "|" in the text: it would split a Markdown table cell)
        row(
            though,
            SEED001_YELP_THOUGH,
            sentence,
            f"updated information at '{PIVOT}' (glyph: sum over clusters of abs(Δα+ + Δα−))",
            float(updated),
            read,
        )
        row(though, SEED001_YELP_THOUGH, sentence, f"‖Δh‖ at '{PIVOT}'", impact["‖Δh‖"][-1])
        row(
            though,
            SEED001_YELP_THOUGH,
            sentence,
            f"P(positive) after '{PIVOT}'",
            float(probability[step + 1]),
            f"{probability[step]:.3f} before it",
        )
        row(though, SEED001_YELP_THOUGH, sentence, "P(positive) after the sentence", float(probability[-1]))
    if len(pivoted) >= 2:
        for measure, (a, b) in ((measure, values[:2]) for measure, values in impact.items()):
            row(
                though,
                SEED001_YELP_THOUGH,
                "first vs second sentence",
                f"{measure} at '{PIVOT}': first / second",
                a / b if b else np.nan,
                f"{'larger' if a > b else 'not larger'} in {pivoted[0]!r} than in {pivoted[1]!r}",
            )
    return rows


def run_sentiment_views_table(
    models: Sequence[str],
    train_tsv: str | Path,
    vocab_path: str | Path,
    responses: Sequence[str | Path],
    words: Sequence[str | Path],
    units: Sequence[str | Path],
    edges: Sequence[str | Path],
    glyphs: Sequence[str | Path],
    checkpoints: Sequence[str | Path],
    threshold: float,
    csv_path: str | Path,
) -> pd.DataFrame:
    """results/tables/sentiment_views.csv: per sentiment model, seeds 001/002's Yelp findings beside ours."""
    lexicon = word_log_odds(read_split(train_tsv))
    parts = []
    for model, *paths in zip(models, responses, words, units, edges, glyphs, checkpoints, strict=True):
        # six paths by the zip above; mypy sees only a list of unknown length
        frame = pd.DataFrame(model_findings(*paths, vocab_path, lexicon, threshold))  # type: ignore[call-arg]
        parts.append(frame.assign(model=model)[["model", *frame.columns]])
    table = pd.concat(parts, ignore_index=True)
    # Markdown: each seed quote once, above the rows that measure it.
    sections = [
        f'### {model}: {finding}\n\nSeed: "{group["seed"].iloc[0]}"\n\n'
        + group[["item", "measure", "value", "detail"]].to_markdown(index=False, floatfmt=".3g")
        for (model, finding), group in table.groupby(["model", "finding"], sort=False)
    ]
    write_table(
        table,
        csv_path,
        "RNNVis's Yelp case study, seeds beside our run. seed: what seed 001 says about its Yelp sentiment GRU "
        f"(seed 002 shows the glyphs of {' / '.join(map(repr, SEED002_YELP_SENTENCES))} and gives no numbers). "
        f"Ours, from the top layer's h: words are positive/negative when the log-odds that a train sentence holding "
        f"them is positive (against the base rate) is >= {threshold:g} / <= -{threshold:g}; word and unit clusters "
        "and edges from the co-clustering of expected responses (train split, each sentence from the zero state); "
        f"'{PIVOT}' rows from the glyph sentences run alone from the zero state.",
        markdown="\n\n".join(sections),
    )
    return table
