"""Training speed: rnnscope.train's trainer against a bare fused torch loop, and the matmul peak.

Both train the same character LSTM (same initial weights, batch, sequence length, Adam and
gradient clipping) for ``--steps`` steps on a generated corpus, one after the other each round.
The trainer's figure is its own ``train_tokens_per_second`` (its training loop, with the
end-of-epoch validation on a small split and the resume checkpoint); the whole call (data
loading, final evaluation, files) is reported too. FLOPs per token count the dense matmuls:
3 x forward, the one-hot input matmul included.

    .venv/bin/python bench/train_speed.py [--hidden 128 --layers 2 --batch 32 --seq-len 100 --steps 20 --runs 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from harness import Figure, at_least, char_corpus, median, speed_ratio, timed_rounds, write_results
from rnnscope.data import build_vocab, encode, write_splits
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.train import TrainSettings, train_language_model

MATMUL_SIZE = 2048
MATMUL_REPEATS = 4


def make_dataset(folder: Path, train_chars: int, eval_chars: int) -> list[str]:
    text = char_corpus(train_chars + 2 * eval_chars)
    vocab = build_vocab(text)
    parts = {"train": text[:train_chars], "valid": text[train_chars:-eval_chars], "test": text[-eval_chars:]}
    write_splits(parts, vocab, folder)
    return vocab


def repeated_matmuls(a: torch.Tensor, b: torch.Tensor) -> None:
    for _ in range(MATMUL_REPEATS):
        torch.mm(a, b)


def training_flops_per_token(config: ModelConfig) -> float:
    input_size = config.embedding or config.vocab_size
    forward = 0.0
    for layer in range(config.layers):
        forward += 2 * 4 * config.hidden * ((input_size if layer == 0 else config.hidden) + config.hidden)
    forward += 2 * config.hidden * config.vocab_size
    return 3 * forward


def bare_loop(initial: dict[str, torch.Tensor], config: ModelConfig, settings: TrainSettings, ids: torch.Tensor) -> float:
    """The plain fused loop: one_hot → nn.LSTM → nn.Linear, Adam, clipping; returns the mean train loss."""
    lstm = nn.LSTM(config.vocab_size, config.hidden, num_layers=config.layers, batch_first=True)
    decoder = nn.Linear(config.hidden, config.vocab_size)
    lstm.load_state_dict({key.removeprefix("rnn."): value for key, value in initial.items() if key.startswith("rnn.")})
    decoder.load_state_dict({key.removeprefix("decoder."): value for key, value in initial.items() if key.startswith("decoder.")})
    parameters = [*lstm.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=settings.lr)
    length = ids.numel() // settings.batch_size
    data = ids[: length * settings.batch_size].view(settings.batch_size, length)
    hidden = None
    total, count = 0.0, 0
    for step in range(settings.max_steps):
        start = step * settings.seq_len
        inputs, targets = data[:, start : start + settings.seq_len], data[:, start + 1 : start + settings.seq_len + 1]
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)
        outputs, hidden = lstm(nn.functional.one_hot(inputs, config.vocab_size).float(), hidden)
        loss = nn.functional.cross_entropy(decoder(outputs).flatten(0, 1), targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, settings.clip)
        optimizer.step()
        total += loss.item() * targets.numel()
        count += targets.numel()
    return total / count


def measure(args: argparse.Namespace, folder: Path) -> tuple[list[Figure], dict]:
    """Time trainer, bare loop and matmul on a corpus generated in ``folder``."""
    eval_chars = args.batch * args.seq_len  # one batch: keeps the trainer's evaluations small
    vocab = make_dataset(folder, args.batch * (args.steps * args.seq_len + 1), eval_chars)
    model_settings = {"cell": "lstm", "hidden": args.hidden, "layers": args.layers, "init_range": 0.08}
    settings = TrainSettings(
        epochs=1, batch_size=args.batch, seq_len=args.seq_len, lr=0.01, seed=0, max_steps=args.steps,
        eval_batch_size=args.batch, eval_max_tokens=eval_chars,
    )
    config = ModelConfig(vocab_size=len(vocab), **model_settings)
    torch.manual_seed(settings.seed)  # the trainer's first initialisation
    initial = RNNModel(config).state_dict()
    ids = torch.tensor(encode((folder / "train.txt").read_text(encoding="utf-8"), vocab))
    tokens = args.steps * args.batch * args.seq_len

    trainer_runs: list[dict] = []
    bare_losses: list[float] = []

    def trainer() -> None:
        with tempfile.TemporaryDirectory() as out:
            out_dir = Path(out)
            metrics = train_language_model(
                folder, model_settings, settings, out_dir / "model.pt", out_dir / "metrics.json",
                out_dir / "history.csv", "bench", threads=args.threads,
            )
            loss = float(pd.read_csv(out_dir / "history.csv")["train_loss_nats"].iloc[0])
        trainer_runs.append({"seconds": tokens / metrics["train_tokens_per_second"], "loss": loss})

    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    seconds = timed_rounds(
        {
            "trainer": trainer,
            "bare": lambda: bare_losses.append(bare_loop(initial, config, settings, ids)),
            "matmul": lambda: repeated_matmuls(a, b),
        },
        args.runs,
    )
    trainer_runs = trainer_runs[1:]  # drop the warm-up round
    trainer_seconds = [run["seconds"] for run in trainer_runs]
    peak = 2 * MATMUL_SIZE**3 * MATMUL_REPEATS / median(seconds["matmul"]) / 1e9
    flops = training_flops_per_token(config)
    trainer_rate = tokens / median(trainer_seconds)
    bare_rate = tokens / median(seconds["bare"])
    shape = f"char {args.layers}x{args.hidden}, batch {args.batch}, seq {args.seq_len}"
    ratio = speed_ratio(trainer_seconds, seconds["bare"])
    call_ratio = speed_ratio(seconds["trainer"], seconds["bare"])
    loss_difference = max(abs(run["loss"] - loss) for run, loss in zip(trainer_runs, bare_losses[1:]))
    figures = [
        Figure(f"train tokens/s, {shape}", trainer_rate, "tok/s", "bare fused torch loop", bare_rate, ratio, *at_least(ratio, 0.9)),
        Figure("train tokens/s, whole trainer call (load, final eval, files)", tokens / median(seconds["trainer"]), "tok/s", "bare fused torch loop", bare_rate, call_ratio),
        Figure(f"float32 matmul peak ({MATMUL_SIZE}^2)", peak, "GFLOP/s"),
        Figure("train % of matmul peak", 100 * trainer_rate * flops / 1e9 / peak, "%", "bare fused torch loop", 100 * bare_rate * flops / 1e9 / peak),
        Figure("train loss |trainer - bare loop| (same work)", loss_difference, "nats", target="<= 1e-4", met=loss_difference <= 1e-4),
    ]
    return figures, {"tokens_per_run": tokens, "train_gflop_per_token": flops / 1e9, "seconds": seconds, "trainer_seconds": trainer_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="JSON path (default results/bench/train_speed.json)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="train_speed_") as tmp:
        figures, details = measure(args, Path(tmp))
    write_results("train_speed", vars(args) | details, figures, args.out)


if __name__ == "__main__":
    main()
