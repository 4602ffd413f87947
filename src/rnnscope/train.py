"""Language-model training with truncated BPTT over contiguous token streams."""

from __future__ import annotations

import csv
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from rnnscope.data import SPLITS, encode, load_vocab, read_utf8
from rnnscope.models import ModelConfig, RNNModel, detach

log = logging.getLogger(__name__)
LN2 = math.log(2.0)


@dataclass(frozen=True)
class TrainSettings:
    epochs: int
    batch_size: int
    seq_len: int
    lr: float
    optimizer: str = "adam"
    clip: float = 5.0
    seed: int = 0
    max_steps: int = 0  # 0: no cap; otherwise stop after this many optimiser steps in total
    eval_batch_size: int = 16
    eval_max_tokens: int = 200_000
    restarts: int = 1  # independent initialisations; the lowest final valid loss is kept
    log_every: int = 1  # epochs between log lines

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; allowed: adam, sgd")
        if min(self.epochs, self.batch_size, self.seq_len, self.restarts, self.log_every) < 1:
            raise ValueError("epochs, batch_size, seq_len, restarts and log_every must be >= 1")


def batchify(ids: torch.Tensor, batch: int, seq_len: int, name: str) -> torch.Tensor:
    """Cut a token stream into ``batch`` contiguous rows (batch, length); the tail that does not fill a row is dropped."""
    length = ids.numel() // batch
    if length < 2:
        raise ValueError(
            f"the {name} split has {ids.numel()} tokens, too short for batch size {batch} "
            f"(each of the {batch} streams needs at least 2 tokens; seq_len is {seq_len}). "
            "Use a longer corpus or a smaller batch size."
        )
    return ids[: length * batch].view(batch, length)


def chunks(data: torch.Tensor, seq_len: int):
    """(input, target) windows of at most ``seq_len`` steps over a batchified stream."""
    for start in range(0, data.size(1) - 1, seq_len):
        end = min(start + seq_len, data.size(1) - 1)
        yield data[:, start:end], data[:, start + 1 : end + 1]


@torch.no_grad()
def evaluate(model: RNNModel, ids: torch.Tensor, batch: int, seq_len: int, name: str) -> float:
    """Mean next-token cross entropy in nats over the stream."""
    model.eval()
    data = batchify(ids, batch, seq_len, name)
    hidden = None
    total, count = 0.0, 0
    for inputs, targets in chunks(data, seq_len):
        logits, hidden = model(inputs, hidden)
        total += nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum").item()
        count += targets.numel()
    return total / count


def split_metrics(loss_nats: float) -> dict[str, float]:
    return {"loss_nats": loss_nats, "ppl": math.exp(loss_nats), "bpc": loss_nats / LN2}


def save_checkpoint(path: Path, model: RNNModel, settings: TrainSettings, step: int, epoch: int, **extra: object) -> None:
    """state_dict + configs + step, never a pickled module; written atomically."""
    payload = {
        "model_config": model.config.to_dict(),
        "train_settings": asdict(settings),
        "state_dict": model.state_dict(),
        "step": step,
        "epoch": epoch,
        **extra,
    }
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    partial.replace(path)


def load_model(checkpoint_path: str | Path) -> tuple[RNNModel, dict]:
    payload = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    model = RNNModel(ModelConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, payload


def load_split_ids(split_dir: Path, vocab: list[str], split: str) -> torch.Tensor:
    return torch.tensor(encode(read_utf8(split_dir / f"{split}.txt"), vocab), dtype=torch.long)


def train_language_model(
    data_dir: str | Path,
    model_settings: dict,
    settings: TrainSettings,
    checkpoint_path: str | Path,
    metrics_path: str | Path,
    history_path: str | Path,
    model_name: str,
    threads: int = 1,
) -> dict:
    """Train on ``data_dir/train.txt``; evaluate every split; write checkpoint, metrics and history.

    With ``restarts`` > 1, independent initialisations (seeds ``seed``, ``seed + 1``, ...) are
    trained and the one with the lowest final valid loss is kept (the history records every run).
    A ``resume.pt`` beside the checkpoint is written after every epoch; a rerun with the same
    model and settings continues from it (a job killed mid-training loses at most one epoch).
    """
    torch.set_num_threads(threads)
    data_dir, checkpoint_path = Path(data_dir), Path(checkpoint_path)
    checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    vocab = load_vocab(data_dir / "vocab.json")
    ids = {split: load_split_ids(data_dir, vocab, split) for split in SPLITS}
    train_data = batchify(ids["train"], settings.batch_size, settings.seq_len, "train")
    config = ModelConfig(vocab_size=len(vocab), **model_settings)

    resume_path = checkpoint_path.with_name("resume.pt")
    resume: dict = {}
    if resume_path.exists():
        resume = torch.load(resume_path, map_location="cpu", weights_only=False)
        if resume["model_config"] != config.to_dict() or resume["train_settings"] != asdict(settings):
            log.info("ignoring %s: it was written for other settings", resume_path)
            resume = {}
    completed: list[dict] = resume.get("completed", [])
    started = time.perf_counter()
    trained_tokens = 0
    for restart in range(len(completed), settings.restarts):
        run = _train_run(config, settings, restart, train_data, ids["valid"], resume if resume.get("restart") == restart else {}, resume_path, completed, model_name)
        trained_tokens += run.pop("tokens")
        completed.append(run)
    elapsed = time.perf_counter() - started

    best = min(completed, key=lambda run: run["valid_loss_nats"])
    model = RNNModel(config)
    model.load_state_dict(best["state_dict"])
    save_checkpoint(checkpoint_path, model, settings, best["step"], best["history"][-1]["epoch"], restart=best["restart"])
    metrics = {
        "model": model_name,
        "steps": best["step"],
        "epochs": best["history"][-1]["epoch"],
        "restart": best["restart"],
        "seed": settings.seed + best["restart"],
        "restarts_valid_loss_nats": [run["valid_loss_nats"] for run in completed],
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": elapsed,
        "train_tokens_per_second": trained_tokens / elapsed if elapsed > 0 and trained_tokens else None,
        "splits": {},
    }
    for split in SPLITS:
        split_ids = ids[split][: settings.eval_max_tokens] if split == "train" else ids[split]
        metrics["splits"][split] = split_metrics(evaluate(model, split_ids, settings.eval_batch_size, settings.seq_len, split))
        metrics["splits"][split]["tokens"] = int(split_ids.numel())
    Path(metrics_path).write_text(json.dumps(metrics, indent=2))
    with open(history_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["restart", "epoch", "step", "train_loss_nats", "valid_loss_nats"])
        writer.writeheader()
        for run in completed:
            writer.writerows({"restart": run["restart"], **row} for row in run["history"])
    resume_path.unlink(missing_ok=True)
    return metrics


def _train_run(
    config: ModelConfig,
    settings: TrainSettings,
    restart: int,
    train_data: torch.Tensor,
    valid_ids: torch.Tensor,
    resume: dict,
    resume_path: Path,
    completed: list[dict],
    model_name: str,
) -> dict:
    """One initialisation trained for the full schedule, checkpointing to ``resume_path`` per epoch."""
    torch.manual_seed(settings.seed + restart)
    model = RNNModel(config)
    optimizer_class = torch.optim.Adam if settings.optimizer == "adam" else torch.optim.SGD
    optimizer = optimizer_class(model.parameters(), lr=settings.lr)
    history: list[dict] = []
    step, first_epoch = 0, 1
    if resume:
        model.load_state_dict(resume["state_dict"])
        optimizer.load_state_dict(resume["optimizer"])
        torch.set_rng_state(resume["rng_state"])
        step, first_epoch, history = resume["step"], resume["epoch"] + 1, resume["history"]
        log.info("resuming %s restart %d from epoch %d (step %d)", model_name, restart, resume["epoch"], step)
    steps_per_epoch = math.ceil((train_data.size(1) - 1) / settings.seq_len)
    show_bar = sys.stderr.isatty()
    tokens = 0
    for epoch in range(first_epoch, settings.epochs + 1):
        if settings.max_steps and step >= settings.max_steps:
            break
        model.train()
        hidden = None
        epoch_loss, epoch_tokens = 0.0, 0
        bar = tqdm(total=steps_per_epoch, desc=f"{model_name} epoch {epoch}", disable=not show_bar, leave=False)
        for inputs, targets in chunks(train_data, settings.seq_len):
            if hidden is not None:
                hidden = detach(hidden)
            logits, hidden = model(inputs, hidden)
            loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
            optimizer.step()
            step += 1
            epoch_loss += loss.item() * targets.numel()
            epoch_tokens += targets.numel()
            bar.update()
            if settings.max_steps and step >= settings.max_steps:
                break
        bar.close()
        tokens += epoch_tokens
        valid_loss = evaluate(model, valid_ids, settings.eval_batch_size, settings.seq_len, "valid")
        row = {"epoch": epoch, "step": step, "train_loss_nats": epoch_loss / epoch_tokens, "valid_loss_nats": valid_loss}
        history.append(row)
        if epoch % settings.log_every == 0 or epoch == settings.epochs:
            log.info(
                "%s restart %d epoch %d step %d: train %.4f nats, valid %.4f nats (ppl %.3f)",
                model_name, restart, epoch, step, row["train_loss_nats"], valid_loss, math.exp(valid_loss),
            )
        save_checkpoint(
            resume_path, model, settings, step, epoch,
            optimizer=optimizer.state_dict(), rng_state=torch.get_rng_state(), history=history,
            restart=restart, completed=completed,
        )
    return {
        "restart": restart,
        "state_dict": model.state_dict(),
        "history": history,
        "step": step,
        "valid_loss_nats": history[-1]["valid_loss_nats"],
        "tokens": tokens,
    }
