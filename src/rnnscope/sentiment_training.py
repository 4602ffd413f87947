"""Training the sentence sentiment classifier (RNNVis's Yelp GRU) on the splits rnnscope.sentiment
prepares; the checkpoint is written like a language model's (rnnscope.train.save_checkpoint)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from rnnscope.models import ModelConfig, RNNModel
from rnnscope.sentiment import LABEL_NAMES, encode_sentences, read_split
from rnnscope.text import SPLITS
from rnnscope.train import initial_model, save_checkpoint

log = logging.getLogger(__name__)


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
