"""Language-model training with truncated BPTT over contiguous token streams."""

from __future__ import annotations

import csv
import json
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from rnnscope.artifacts import write_atomically
from rnnscope.models import CorruptCheckpoint, ModelConfig, RNNModel, detach, load_checkpoint, resolve_device
from rnnscope.schema import check_settings
from rnnscope.text import SPLITS, encode, load_level, load_vocab, read_utf8

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
    checkpoint_every_steps: int = 0  # also write resume.pt every this many steps (0: epoch ends only)
    checkpoint_every_minutes: float = 10.0  # and at least this often (0: never by time)
    device: str = "auto"  # auto (cuda when available), cpu or cuda
    # Zaremba et al. (2014): lr stays for the first lr_decay_after epochs, then is multiplied by
    # lr_decay at every later epoch. The defaults (1.0, 0) keep the lr constant.
    lr_decay: float = 1.0
    lr_decay_after: int = 0
    max_train_tokens: int = 0  # 0: the whole train split; otherwise only its first this many tokens
    # "init": the decoder bias is initialised like every weight; "unigram": to the log add-0.5
    # frequencies of the train tokens, so training starts at the unigram model's loss.
    output_bias: str = "init"
    # Which loss lr and clip refer to. "mean": cross-entropy averaged over batch and time steps;
    # "sum_over_time": summed over the steps and averaged over the batch, as Zaremba et al.'s and
    # TensorFlow's PTB code (so "SGD lr 1, clip 5" means what the papers mean).
    loss_scale: str = "mean"
    # Stop after this many epochs without a lower valid loss and keep the best epoch's weights
    # (0: train every epoch and keep the last).
    early_stopping_patience: int = 0

    def __post_init__(self) -> None:
        check_settings("models.<name>.train", self)

    def epoch_lr(self, epoch: int) -> float:
        """Learning rate of (1-based) ``epoch``: lr * lr_decay^max(epoch - lr_decay_after, 0)."""
        return self.lr * self.lr_decay ** max(epoch - self.lr_decay_after, 0)


class Preempted(SystemExit):
    """Raised after SIGTERM/SIGUSR1 once resume.pt is safely written; exits non-zero so the
    scheduler (Slurm, Snakemake's retries) runs the job again and it resumes."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(PREEMPTED_EXIT_CODE)
        self.signal_name = signal_name


PREEMPTED_EXIT_CODE = 75  # EX_TEMPFAIL: try again


class StopRequest:
    """Turns SIGTERM and SIGUSR1 (what Slurm sends before a time limit or preemption) into a
    flag the training loop checks between steps, so a checkpoint is never cut in half."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGUSR1):
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number: int, frame: object) -> None:
        self.signal_name = signal.Signals(number).name
        log.warning("received %s: checkpointing after this step, then exiting for a retry", self.signal_name)

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


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


def chunks(data: torch.Tensor, seq_len: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
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


def save_checkpoint(
    path: Path, model: RNNModel, settings: TrainSettings | dict, step: int, epoch: int, **extra: object
) -> None:
    """state_dict + configs + step, never a pickled module; written atomically. ``settings`` is a
    language model's TrainSettings or a sentiment classifier's train settings (rnnscope.sentiment_training)."""
    payload = {
        "model_config": model.config.to_dict(),
        "train_settings": asdict(settings) if isinstance(settings, TrainSettings) else dict(settings),
        "state_dict": model.state_dict(),
        "step": step,
        "epoch": epoch,
        **extra,
    }
    write_atomically(path, lambda partial: torch.save(payload, partial))


def initial_model(
    config: ModelConfig, seed: int, settings: TrainSettings | None = None, train_ids: torch.Tensor | None = None
) -> RNNModel:
    """The weights a training run with ``seed`` starts from (``init_range`` or PyTorch's init),
    with the decoder bias set from ``train_ids`` when ``settings.output_bias`` is ``unigram``."""
    torch.manual_seed(seed)
    model = RNNModel(config)
    if settings is not None and settings.output_bias == "unigram":
        if train_ids is None:
            raise ValueError("output_bias unigram needs the train tokens")
        counts = torch.bincount(train_ids.flatten().cpu(), minlength=config.vocab_size).double() + 0.5
        with torch.no_grad():
            model.decoder.bias.copy_((counts / counts.sum()).log().float())
    return model


def write_untrained_checkpoint(
    data_dir: str | Path, model_settings: dict, settings: TrainSettings, checkpoint_path: str | Path
) -> RNNModel:
    """Save the untrained model of this shape: the initial weights of training's first restart
    (seed ``settings.seed``), as a checkpoint that extraction reads like a trained one (step 0).
    The probe baseline for what a random recurrent network of this shape already encodes."""
    checkpoint_path = Path(checkpoint_path)
    checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    vocab_path = Path(data_dir) / "vocab.json"
    vocab = load_vocab(vocab_path)
    config = ModelConfig(vocab_size=len(vocab), **model_settings)
    train_ids = None
    if settings.output_bias == "unigram":
        # The tokens training counts: the capped split, cut to whole batch rows.
        ids = load_split_ids(Path(data_dir), vocab, "train", load_level(vocab_path))[
            : settings.max_train_tokens or None
        ]
        train_ids = batchify(ids, settings.batch_size, settings.seq_len, "train")
    model = initial_model(config, settings.seed, settings, train_ids)
    save_checkpoint(checkpoint_path, model, settings, step=0, epoch=0, untrained=True)
    log.info("wrote the untrained %s model (seed %d) to %s", config.cell, settings.seed, checkpoint_path)
    return model


def load_split_ids(split_dir: Path, vocab: list[str], split: str, level: str = "char") -> torch.Tensor:
    return torch.tensor(encode(read_utf8(split_dir / f"{split}.txt"), vocab, level), dtype=torch.long)


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
    level = load_level(data_dir / "vocab.json")
    ids = {split: load_split_ids(data_dir, vocab, split, level) for split in SPLITS}
    if settings.max_train_tokens:
        ids["train"] = ids["train"][: settings.max_train_tokens]
    train_data = batchify(ids["train"], settings.batch_size, settings.seq_len, "train")
    config = ModelConfig(vocab_size=len(vocab), **model_settings)

    resume_path = checkpoint_path.with_name("resume.pt")
    resume: dict = {}
    if resume_path.exists():
        try:
            resume = load_checkpoint(resume_path, weights_only=False)
        except CorruptCheckpoint as error:
            log.warning("%s; starting over instead of resuming", error)
            resume = {}
        if resume and (resume["model_config"] != config.to_dict() or resume["train_settings"] != asdict(settings)):
            log.info("ignoring %s: it was written for other settings", resume_path)
            resume = {}
    completed: list[dict] = resume.get("completed", [])
    device = resolve_device(settings.device)
    started = time.perf_counter()
    trained_tokens = 0
    with StopRequest() as stop:
        for restart in range(len(completed), settings.restarts):
            run = _train_run(
                config,
                settings,
                restart,
                train_data.to(device),
                ids["valid"].to(device),
                resume if resume.get("restart") == restart else {},
                resume_path,
                completed,
                model_name,
                stop,
            )
            trained_tokens += run.pop("tokens")
            completed.append(run)
    elapsed = time.perf_counter() - started

    best = min(completed, key=lambda run: run["valid_loss_nats"])
    model = RNNModel(config)
    model.load_state_dict(best["state_dict"])
    save_checkpoint(checkpoint_path, model, settings, best["step"], best["epoch"], restart=best["restart"])
    model.to(device)
    metrics = {
        "model": model_name,
        "steps": best["step"],
        "epochs": best["history"][-1]["epoch"],
        "kept_epoch": best["epoch"],
        "restart": best["restart"],
        "seed": settings.seed + best["restart"],
        "restarts_valid_loss_nats": [run["valid_loss_nats"] for run in completed],
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": elapsed,
        "train_tokens_per_second": trained_tokens / elapsed if elapsed > 0 and trained_tokens else None,
        "device": str(device),
        "level": level,
        "train_tokens_used": int(ids["train"].numel()),
        "splits": {},
    }
    for split in SPLITS:
        split_ids = (ids[split][: settings.eval_max_tokens] if split == "train" else ids[split]).to(device)
        metrics["splits"][split] = split_metrics(
            evaluate(model, split_ids, settings.eval_batch_size, settings.seq_len, split)
        )
        metrics["splits"][split]["tokens"] = int(split_ids.numel())
    Path(metrics_path).write_text(json.dumps(metrics, indent=2))
    with open(history_path, "w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["restart", "epoch", "step", "lr", "train_loss_nats", "valid_loss_nats"]
        )
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
    stop: StopRequest,
) -> dict:
    """One initialisation trained for the full schedule.

    ``resume_path`` is rewritten at every epoch end, every ``checkpoint_every_steps`` steps,
    every ``checkpoint_every_minutes`` and on SIGTERM/SIGUSR1. It holds everything the next
    step depends on (weights, optimiser, RNG, carried hidden state, position in the epoch), so a
    resumed run computes exactly what the uninterrupted run would have.
    """
    device = train_data.device
    model = initial_model(config, settings.seed + restart, settings, train_data).to(device)
    optimizer_class = torch.optim.Adam if settings.optimizer == "adam" else torch.optim.SGD
    optimizer = optimizer_class(model.parameters(), lr=settings.lr)
    history: list[dict] = []
    step, first_epoch, in_epoch = 0, 1, None
    best: dict = {}  # with early stopping: the epoch of lowest valid loss and its weights
    if resume:
        model.load_state_dict(resume["state_dict"])
        optimizer.load_state_dict(resume["optimizer"])
        torch.set_rng_state(resume["rng_state"])
        step, first_epoch, history, in_epoch = (
            resume["step"],
            resume["epoch"] + 1,
            resume["history"],
            resume.get("in_epoch"),
        )
        best = resume.get("best", {})
        where = (
            f"epoch {first_epoch} batch {in_epoch['batch_index']}"
            if in_epoch
            else f"the end of epoch {resume['epoch']}"
        )
        log.info("resuming %s restart %d from %s (step %d)", model_name, restart, where, step)
    steps_per_epoch = math.ceil((train_data.size(1) - 1) / settings.seq_len)
    show_bar = sys.stderr.isatty()
    tokens = 0
    last_save = time.monotonic()

    def save_resume(epoch_done: int, position: dict | None) -> None:
        nonlocal last_save
        save_checkpoint(
            resume_path,
            model,
            settings,
            step,
            epoch_done,
            optimizer=optimizer.state_dict(),
            rng_state=torch.get_rng_state(),
            history=history,
            restart=restart,
            completed=completed,
            in_epoch=position,
            best=best,
        )
        last_save = time.monotonic()

    for epoch in range(first_epoch, settings.epochs + 1):
        if settings.max_steps and step >= settings.max_steps:
            break
        if best and epoch - best["epoch"] > settings.early_stopping_patience:
            log.info(
                "%s restart %d: early stop before epoch %d, keeping epoch %d", model_name, restart, epoch, best["epoch"]
            )
            break
        model.train()
        lr = settings.epoch_lr(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        hidden, epoch_loss, epoch_tokens, skip = None, 0.0, 0, 0
        if in_epoch is not None:
            hidden = in_epoch["hidden"]
            hidden = (
                tuple(h.to(device) for h in hidden)
                if isinstance(hidden, tuple)
                else (hidden.to(device) if hidden is not None else None)
            )
            epoch_loss, epoch_tokens, skip = in_epoch["epoch_loss"], in_epoch["epoch_tokens"], in_epoch["batch_index"]
            in_epoch = None
        bar = tqdm(
            total=steps_per_epoch, initial=skip, desc=f"{model_name} epoch {epoch}", disable=not show_bar, leave=False
        )
        for batch_index, (inputs, targets) in enumerate(chunks(train_data, settings.seq_len)):
            if batch_index < skip:
                continue
            if hidden is not None:
                hidden = detach(hidden)
            logits, hidden = model(inputs, hidden)
            loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
            optimizer.zero_grad(set_to_none=True)
            (loss * targets.size(1) if settings.loss_scale == "sum_over_time" else loss).backward()
            if settings.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
            optimizer.step()
            step += 1
            epoch_loss += loss.item() * targets.numel()
            epoch_tokens += targets.numel()
            bar.update()
            due = (settings.checkpoint_every_steps and step % settings.checkpoint_every_steps == 0) or (
                settings.checkpoint_every_minutes
                and time.monotonic() - last_save >= 60 * settings.checkpoint_every_minutes
            )
            if due or stop.signal_name:
                position = {
                    "batch_index": batch_index + 1,
                    "hidden": detach(hidden),
                    "epoch_loss": epoch_loss,
                    "epoch_tokens": epoch_tokens,
                }
                save_resume(epoch - 1, position)
                if stop.signal_name:
                    bar.close()
                    log.warning(
                        "%s: wrote %s at step %d; exiting with code %d",
                        stop.signal_name,
                        resume_path,
                        step,
                        PREEMPTED_EXIT_CODE,
                    )
                    raise Preempted(stop.signal_name)
            if settings.max_steps and step >= settings.max_steps:
                break
        bar.close()
        tokens += epoch_tokens
        valid_loss = evaluate(model, valid_ids, settings.eval_batch_size, settings.seq_len, "valid")
        row = {
            "epoch": epoch,
            "step": step,
            "lr": lr,
            "train_loss_nats": epoch_loss / epoch_tokens,
            "valid_loss_nats": valid_loss,
        }
        history.append(row)
        if epoch % settings.log_every == 0 or epoch == settings.epochs:
            log.info(
                "%s restart %d epoch %d step %d: train %.4f nats, valid %.4f nats (ppl %.3f)",
                model_name,
                restart,
                epoch,
                step,
                row["train_loss_nats"],
                valid_loss,
                math.exp(valid_loss),
            )
        if settings.early_stopping_patience and (not best or valid_loss < best["valid_loss_nats"]):
            best = {"epoch": epoch, "step": step, "valid_loss_nats": valid_loss, "state_dict": cpu_state(model)}
        save_resume(epoch, None)
    kept = best or {
        "epoch": history[-1]["epoch"],
        "step": step,
        "valid_loss_nats": history[-1]["valid_loss_nats"],
        "state_dict": cpu_state(model),
    }
    return {**kept, "restart": restart, "history": history, "tokens": tokens}


def cpu_state(model: RNNModel) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}
