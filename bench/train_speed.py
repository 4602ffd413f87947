"""Training speed: rnnscope.train's trainer against a bare fused torch loop, and the matmul peak.

For each shape, both train the same LSTM (same initial weights, batch, sequence length,
optimiser and gradient clipping) for ``--steps`` steps on a generated corpus, one after the
other each round. Shapes: ``char:LxH``, a character model with one-hot inputs as the default
config's Shakespeare models (Adam 0.01, batch 32 x 100), and ``word:LxH``, a PTB-style word
model with a 10k vocabulary and an H-wide embedding (Zaremba et al.'s SGD lr 1, batch 20 x 35)
on Zipf-distributed words. The trainer's figure is its own ``train_tokens_per_second`` (its
training loop, with the end-of-epoch validation on a small split and the resume checkpoint);
the whole call (data loading, final evaluation, files) is reported too. FLOPs per token count
the dense matmuls: 3 x forward, a one-hot input matmul included (an embedding lookup is not).

    .venv/bin/python bench/train_speed.py [--shapes char:2x128 word:2x200 word:2x600] [--steps 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from harness import Figure, at_least, char_corpus, median, speed_ratio, timed_rounds, write_results
from rnnscope.data import build_vocab, write_splits
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.text import EOS, encode
from rnnscope.train import TrainSettings, train_language_model

MATMUL_SIZE = 2048
MATMUL_REPEATS = 4
WORD_VOCAB = 10_000
WORDS_PER_LINE = 20
DEFAULT_SHAPES = ("char:2x128", "word:2x200", "word:2x600")


@dataclass(frozen=True)
class Shape:
    """A benchmarked model: level, layers x hidden, and the recipe of its kind of model."""

    level: str
    layers: int
    hidden: int

    @classmethod
    def parse(cls, text: str) -> Shape:
        match = re.fullmatch(r"(char|word):(\d+)x(\d+)", text)
        if not match:
            raise argparse.ArgumentTypeError(f"shape {text!r} is not char:LxH or word:LxH (e.g. word:2x200)")
        return cls(match[1], int(match[2]), int(match[3]))

    @property
    def embedding(self) -> int:
        return self.hidden if self.level == "word" else 0

    @property
    def recipe(self) -> dict:
        if self.level == "word":
            return {"batch_size": 20, "seq_len": 35, "optimizer": "sgd", "lr": 1.0}
        return {"batch_size": 32, "seq_len": 100, "optimizer": "adam", "lr": 0.01}

    def __str__(self) -> str:
        batch, seq_len = self.recipe["batch_size"], self.recipe["seq_len"]
        return f"{self.level} {self.layers}x{self.hidden}, batch {batch}, seq {seq_len}, {self.recipe['optimizer']}"


def word_corpus(words: int, seed: int = 0) -> str:
    """``words`` Zipf-distributed words of a ``WORD_VOCAB`` vocabulary, ``WORDS_PER_LINE`` a line."""
    ranks = np.arange(1, WORD_VOCAB + 1)
    draws = np.random.default_rng(seed).choice(WORD_VOCAB, size=words, p=(1 / ranks) / (1 / ranks).sum())
    lines = [
        " ".join(f"w{i}" for i in draws[start : start + WORDS_PER_LINE]) for start in range(0, words, WORDS_PER_LINE)
    ]
    return "\n".join(lines) + "\n"


def make_dataset(folder: Path, shape: Shape, train_tokens: int, eval_tokens: int) -> list[str]:
    if shape.level == "char":
        text = char_corpus(train_tokens + 2 * eval_tokens)
        vocab = build_vocab(text)
        parts = {"train": text[:train_tokens], "valid": text[train_tokens:-eval_tokens], "test": text[-eval_tokens:]}
    else:
        # Lines of WORDS_PER_LINE words and an <eos>: whole lines, enough of them for the tokens asked.
        lines_for = lambda tokens: -(-tokens // (WORDS_PER_LINE + 1))  # noqa: E731
        parts = {
            split: word_corpus(lines_for(tokens) * WORDS_PER_LINE, seed)
            for seed, (split, tokens) in enumerate(
                (("train", train_tokens), ("valid", eval_tokens), ("test", eval_tokens))
            )
        }
        # The whole WORD_VOCAB, drawn or not: the decoder's softmax over 10k words is most of a
        # PTB model's cost, and a short run draws only ~4k of them (it measured 2.9x too fast).
        vocab = sorted({f"w{i}" for i in range(WORD_VOCAB)} | {EOS})
    write_splits(parts, vocab, folder, shape.level)
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


def bare_loop(
    initial: dict[str, torch.Tensor], config: ModelConfig, settings: TrainSettings, ids: torch.Tensor
) -> float:
    """The plain fused loop: one_hot or nn.Embedding → nn.LSTM → nn.Linear, the optimiser,
    clipping; returns the mean train loss."""

    def loaded(module: nn.Module, prefix: str) -> nn.Module:
        module.load_state_dict(
            {key.removeprefix(prefix): value for key, value in initial.items() if key.startswith(prefix)}
        )
        return module

    lstm = loaded(
        nn.LSTM(config.embedding or config.vocab_size, config.hidden, num_layers=config.layers, batch_first=True),
        "rnn.",
    )
    decoder = loaded(nn.Linear(config.hidden, config.vocab_size), "decoder.")
    encoder = loaded(nn.Embedding(config.vocab_size, config.embedding), "encoder.") if config.embedding else None
    parameters = [*lstm.parameters(), *decoder.parameters(), *(encoder.parameters() if encoder else ())]
    optimizer = (torch.optim.SGD if settings.optimizer == "sgd" else torch.optim.Adam)(parameters, lr=settings.lr)
    length = ids.numel() // settings.batch_size
    data = ids[: length * settings.batch_size].view(settings.batch_size, length)
    hidden = None
    total, count = 0.0, 0
    for step in range(settings.max_steps):
        start = step * settings.seq_len
        inputs, targets = data[:, start : start + settings.seq_len], data[:, start + 1 : start + settings.seq_len + 1]
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)
        embedded = encoder(inputs) if encoder else nn.functional.one_hot(inputs, config.vocab_size).float()
        outputs, hidden = lstm(embedded, hidden)
        loss = nn.functional.cross_entropy(decoder(outputs).flatten(0, 1), targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, settings.clip)
        optimizer.step()
        total += loss.item() * targets.numel()
        count += targets.numel()
    return total / count


def measure(args: argparse.Namespace, shape: Shape, folder: Path) -> tuple[list[Figure], dict]:
    """Time trainer, bare loop and matmul for ``shape`` on a corpus generated in ``folder``."""
    batch, seq_len = shape.recipe["batch_size"], shape.recipe["seq_len"]
    eval_tokens = batch * seq_len  # one batch: keeps the trainer's evaluations small
    vocab = make_dataset(folder, shape, batch * (args.steps * seq_len + 1), eval_tokens)
    model_settings = {
        "cell": "lstm",
        "hidden": shape.hidden,
        "layers": shape.layers,
        "embedding": shape.embedding,
        "init_range": 0.08,
    }
    settings = TrainSettings(
        epochs=1,
        seed=0,
        max_steps=args.steps,
        eval_batch_size=batch,
        eval_max_tokens=eval_tokens,
        **shape.recipe,
    )
    config = ModelConfig(vocab_size=len(vocab), **model_settings)
    torch.manual_seed(settings.seed)  # the trainer's first initialisation
    initial = RNNModel(config).state_dict()
    ids = torch.tensor(encode((folder / "train.txt").read_text(encoding="utf-8"), vocab, shape.level))
    tokens = args.steps * batch * seq_len

    trainer_runs: list[dict] = []
    bare_losses: list[float] = []

    def trainer() -> None:
        with tempfile.TemporaryDirectory() as out:
            out_dir = Path(out)
            metrics = train_language_model(
                folder,
                model_settings,
                settings,
                out_dir / "model.pt",
                out_dir / "metrics.json",
                out_dir / "history.csv",
                "bench",
                threads=args.threads,
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
    ratio = speed_ratio(trainer_seconds, seconds["bare"])
    call_ratio = speed_ratio(seconds["trainer"], seconds["bare"])
    loss_difference = max(abs(run["loss"] - loss) for run, loss in zip(trainer_runs, bare_losses[1:], strict=True))
    figures = [
        Figure(
            f"train tokens/s, {shape}",
            trainer_rate,
            "tok/s",
            "bare fused torch loop",
            bare_rate,
            ratio,
            *at_least(ratio, 0.9),
        ),
        Figure(
            f"{shape.level} {shape.layers}x{shape.hidden}: whole trainer call (load, final eval, files)",
            tokens / median(seconds["trainer"]),
            "tok/s",
            "bare fused torch loop",
            bare_rate,
            call_ratio,
        ),
        Figure(
            f"{shape.level} {shape.layers}x{shape.hidden}: float32 matmul peak ({MATMUL_SIZE}^2) in its rounds",
            peak,
            "GFLOP/s",
        ),
        Figure(
            f"{shape.level} {shape.layers}x{shape.hidden}: train % of matmul peak",
            100 * trainer_rate * flops / 1e9 / peak,
            "%",
            "bare fused torch loop",
            100 * bare_rate * flops / 1e9 / peak,
        ),
        Figure(
            f"{shape.level} {shape.layers}x{shape.hidden}: train loss |trainer - bare loop| (same work)",
            loss_difference,
            "nats",
            target="<= 1e-4",
            met=loss_difference <= 1e-4,
        ),
    ]
    return figures, {
        "shape": str(shape),
        "tokens_per_run": tokens,
        "train_gflop_per_token": flops / 1e9,
        "seconds": seconds,
        "trainer_seconds": trainer_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--shapes",
        type=Shape.parse,
        nargs="+",
        default=[Shape.parse(text) for text in DEFAULT_SHAPES],
        help=f"char:LxH or word:LxH (default: {' '.join(DEFAULT_SHAPES)})",
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="JSON path (default results/bench/train_speed.json)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    figures, details = [], []
    for shape in args.shapes:
        with tempfile.TemporaryDirectory(prefix="train_speed_") as tmp:
            shape_figures, shape_details = measure(args, shape, Path(tmp))
        figures += shape_figures
        details.append(shape_details)
    write_results(
        "train_speed",
        {
            "shapes": [str(shape) for shape in args.shapes],
            "steps": args.steps,
            "runs": args.runs,
            "threads": args.threads,
            "per_shape": details,
        },
        figures,
        args.out,
    )


if __name__ == "__main__":
    main()
