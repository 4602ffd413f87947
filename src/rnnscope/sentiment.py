"""Sentence sentiment classification (RNNVis's Yelp case study: GRU 1x50, embedding 50, Adam).

Data: Shen et al.'s (2017) Yelp sentence polarity files ``sentiment.<part>.<label>`` (one
tokenized, lower-cased sentence per line; label 0 negative, 1 positive), pooled and split
train/valid/test with a fixed seed; or Zhang et al.'s (2015) ``yelp_review_polarity_csv``
(``"class","text"`` rows, class 1 negative, 2 positive, newlines escaped as ``\\n``).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from rnnscope.models import ModelConfig, RNNModel
from rnnscope.text import SPLITS, UNK, read_utf8
from rnnscope.train import initial_model, save_checkpoint

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


def batches(
    encoded: list[torch.Tensor], lengths: torch.Tensor, labels: torch.Tensor, batch_size: int, order: np.ndarray
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(padded tokens, lengths, labels) per batch of ``batch_size`` rows taken in ``order``."""
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        tokens = nn.utils.rnn.pad_sequence([encoded[row] for row in rows], batch_first=True)
        yield tokens, lengths[rows], labels[rows]


@torch.no_grad()
def accuracy(
    model: RNNModel, encoded: list[torch.Tensor], lengths: torch.Tensor, labels: torch.Tensor, batch_size: int
) -> tuple[float, float]:
    """(accuracy, mean cross entropy in nats) over a split."""
    model.eval()
    correct, loss = 0, 0.0
    for tokens, batch_lengths, batch_labels in batches(encoded, lengths, labels, batch_size, np.arange(len(labels))):
        logits = model.classify(tokens, batch_lengths)
        correct += int((logits.argmax(-1) == batch_labels).sum())
        loss += nn.functional.cross_entropy(logits, batch_labels, reduction="sum").item()
    return correct / len(labels), loss / len(labels)


def train_sentiment(
    data_dir: str | Path,
    model_settings: dict,
    train_settings: dict,
    checkpoint_path: str | Path,
    metrics_path: str | Path,
    history_path: str | Path,
    model_name: str,
    threads: int = 1,
) -> dict:
    """Train a sentence classifier with Adam on ``train.tsv``; the epoch with the best valid
    accuracy is kept; writes checkpoint, metrics (accuracy per split) and per-epoch history."""
    torch.set_num_threads(threads)
    data_dir = Path(data_dir)
    vocab = json.loads((data_dir / "vocab.json").read_text(encoding="utf-8"))["tokens"]
    splits = {}
    for split in SPLITS:
        frame = read_split(data_dir / f"{split}.tsv")
        encoded, lengths = encode_sentences(frame["text"].tolist(), vocab)
        splits[split] = (encoded, lengths, torch.tensor(frame["label"].to_numpy(), dtype=torch.long))
    # The language models' class with a class decoder: checkpoints load through models.load_model.
    config = ModelConfig(vocab_size=len(vocab), classes=len(LABEL_NAMES), **model_settings)
    model = initial_model(config, train_settings["seed"])
    rng = np.random.default_rng(train_settings["seed"])
    optimizer = torch.optim.Adam(model.parameters(), lr=train_settings["lr"])
    batch_size = train_settings["batch_size"]
    history: list[dict[str, Any]] = []
    best_state: dict[str, torch.Tensor] | None = None
    best_valid = -1.0
    started = time.perf_counter()
    for epoch in range(1, train_settings["epochs"] + 1):
        model.train()
        encoded, lengths, labels = splits["train"]
        total, count = 0.0, 0
        for tokens, batch_lengths, batch_labels in batches(
            encoded, lengths, labels, batch_size, rng.permutation(len(labels))
        ):
            loss = nn.functional.cross_entropy(model.classify(tokens, batch_lengths), batch_labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch_labels)
            count += len(batch_labels)
        valid_accuracy, valid_loss = accuracy(model, *splits["valid"], batch_size)
        history.append(
            {
                "epoch": epoch,
                "train_loss_nats": total / count,
                "valid_loss_nats": valid_loss,
                "valid_accuracy": valid_accuracy,
            }
        )
        log.info("%s epoch %d: train %.4f nats, valid accuracy %.4f", model_name, epoch, total / count, valid_accuracy)
        if valid_accuracy > best_valid:
            best_valid, best_state = (
                valid_accuracy,
                {name: tensor.clone() for name, tensor in model.state_dict().items()},
            )
    elapsed = time.perf_counter() - started
    assert best_state is not None, "no epoch ran"  # the first epoch's accuracy beats -1
    model.load_state_dict(best_state)
    best_epoch = max(history, key=lambda row: row["valid_accuracy"])["epoch"]
    metrics: dict[str, Any] = {
        "model": model_name,
        "epoch": best_epoch,
        "train_seconds": elapsed,
        "parameters": sum(p.numel() for p in model.parameters()),
        "splits": {},
    }
    for split in SPLITS:
        split_accuracy, split_loss = accuracy(model, *splits[split], batch_size)
        labels = splits[split][2]
        metrics["splits"][split] = {
            "accuracy": split_accuracy,
            "loss_nats": split_loss,
            "sentences": len(labels),
            "majority_accuracy": max(float(labels.float().mean()), 1 - float(labels.float().mean())),
        }
    steps_per_epoch = -(-len(splits["train"][2]) // batch_size)
    save_checkpoint(Path(checkpoint_path), model, train_settings, step=best_epoch * steps_per_epoch, epoch=best_epoch)
    Path(metrics_path).write_text(json.dumps(metrics, indent=2))
    pd.DataFrame(history).to_csv(history_path, index=False)
    return metrics
