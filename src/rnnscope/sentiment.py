"""Sentence sentiment classification (RNNVis's Yelp case study: GRU 1x50, embedding 50, Adam).

Data: Shen et al.'s (2017) Yelp sentence polarity files ``sentiment.<part>.<label>`` (one
tokenized, lower-cased sentence per line; label 0 negative, 1 positive), pooled and split
train/valid/test with a fixed seed; or Zhang et al.'s (2015) ``yelp_review_polarity_csv``
(``"class","text"`` rows, class 1 negative, 2 positive, newlines escaped as ``\\n``).
Training the classifier is in rnnscope.sentiment_training.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnscope.text import SPLITS, UNK, read_utf8

log = logging.getLogger(__name__)

PAD = "<pad>"
LABEL_NAMES = ("negative", "positive")


def read_polarity_files(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Sentences of Shen et al.'s files, labelled by the file's suffix (``.0`` negative, ``.1`` positive)."""
    frames = []
    for path in paths:
        suffix = Path(path).suffix
        if suffix not in (".0", ".1"):
            raise ValueError(f"{path}: a polarity file ends in .0 (negative) or .1 (positive), not {suffix!r}")
        lines = [line for line in read_utf8(path).split("\n") if line.strip()]
        frames.append(pd.DataFrame({"text": lines, "label": int(suffix[1])}))
    return pd.concat(frames, ignore_index=True)


def read_zhang_polarity_csv(path: str | Path) -> pd.DataFrame:
    """Zhang et al.'s ``yelp_review_polarity_csv`` rows as ``text`` and ``label`` (0 negative, 1 positive)."""
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if len(row) != 2 or row[0] not in ("1", "2"):
                raise ValueError(
                    f"{path} row {number}: expected two columns, class 1 or 2 and the review text, got {row[:2]!r}"
                )
            rows.append({"text": row[1].replace("\\n", "\n"), "label": int(row[0]) - 1})
    return pd.DataFrame(rows, columns=["text", "label"])


def split_frame(frame: pd.DataFrame, fractions: Sequence[float], seed: int) -> dict[str, pd.DataFrame]:
    """A seeded shuffle cut into train/valid/test at ``fractions``."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) <= 0:
        raise ValueError(f"split fractions must be three positive numbers summing to 1, got {list(fractions)}")
    order = np.random.default_rng(seed).permutation(len(frame))
    cuts = np.floor(np.cumsum(fractions)[:2] * len(frame)).astype(int)
    parts = dict(zip(SPLITS, np.split(order, cuts), strict=True))
    empty = [split for split, rows in parts.items() if len(rows) == 0]
    if empty:
        raise ValueError(f"split(s) {empty} came out empty from {len(frame)} sentences: too few sentences")
    return {split: frame.iloc[rows].reset_index(drop=True) for split, rows in parts.items()}


def build_sentence_vocab(texts: Sequence[str], max_size: int) -> list[str]:
    """``<pad>``, ``<unk>`` and the ``max_size - 2`` most frequent words (ties alphabetical)."""
    counts = Counter(word for text in texts for word in text.split())
    words = sorted(counts, key=lambda word: (-counts[word], word))
    return [PAD, UNK, *[word for word in words if word not in (PAD, UNK)][: max_size - 2]]


def prepare_sentiment(
    paths: Sequence[str | Path], fractions: Sequence[float], seed: int, vocab_size: int, out_dir: str | Path
) -> None:
    """Pool the polarity files, split them, write ``<split>.tsv`` (label, text) and ``vocab.json``."""
    parts = split_frame(read_polarity_files(paths), fractions, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for split, part in parts.items():
        part[["label", "text"]].to_csv(
            out / f"{split}.tsv", sep="\t", index=False, quoting=csv.QUOTE_NONE, escapechar="\\"
        )
    vocab = build_sentence_vocab(parts["train"]["text"].tolist(), vocab_size)
    (out / "vocab.json").write_text(
        json.dumps({"tokens": vocab, "level": "word"}, ensure_ascii=False, indent=0), encoding="utf-8"
    )


def read_split(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(
        path, sep="\t", quoting=csv.QUOTE_NONE, escapechar="\\", keep_default_na=False, dtype={"text": str}
    )


def encode_sentences(texts: Sequence[str], vocab: Sequence[str]) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Token ids per sentence (unknown words as ``<unk>``; an empty sentence as one ``<unk>``) and lengths."""
    index = {token: i for i, token in enumerate(vocab)}
    unk = index[UNK]
    encoded = [torch.tensor([index.get(word, unk) for word in text.split()] or [unk]) for text in texts]
    return encoded, torch.tensor([len(ids) for ids in encoded])
