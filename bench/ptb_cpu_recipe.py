"""Which recipe the default config's CPU-sized PTB models train with (not part of bench/run.py).

Trains the default ``ptb_lstm_medium`` shape (2x128 LSTM, 128-wide embedding, init ±0.05) for the
default budget (one pass over the first 300k training words, batch 20 x 35, clip 5) with each
recipe below, one after another in this process, and prints valid perplexity and training
seconds: the default (Adam 0.002, decoder bias at the log unigram frequencies), Adam alone, and
Zaremba et al.'s SGD lr 1 with the loss averaged over time (PyTorch's default, 35x shorter
steps than the paper's) and summed over time (the paper's scale), each with and without the
unigram bias. Reads the prepared PTB splits of a run (``results/data/ptb``).

    PYTHONPATH=src .venv/bin/python bench/ptb_cpu_recipe.py [--data results/data/ptb] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml
from tabulate import tabulate

from harness import ROOT
from rnnscope.train import TrainSettings, train_language_model

RECIPES = {
    "default: adam 0.002, unigram bias": {"optimizer": "adam", "lr": 0.002, "output_bias": "unigram"},
    "adam 0.002": {"optimizer": "adam", "lr": 0.002, "output_bias": "init"},
    "sgd 1, loss mean over time": {"optimizer": "sgd", "lr": 1.0, "output_bias": "init", "loss_scale": "mean"},
    "sgd 1, loss summed over time": {
        "optimizer": "sgd",
        "lr": 1.0,
        "output_bias": "init",
        "loss_scale": "sum_over_time",
    },
    "sgd 1, summed, unigram bias": {
        "optimizer": "sgd",
        "lr": 1.0,
        "output_bias": "unigram",
        "loss_scale": "sum_over_time",
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "results" / "data" / "ptb")
    parser.add_argument("--model", default="ptb_lstm_medium", help="a model of config/config.yaml")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES), help="the recipes to train"
    )
    args = parser.parse_args()
    spec = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"][args.model]
    rows = []
    for name in args.recipes:
        recipe = RECIPES[name]
        settings = TrainSettings(**{**spec["train"], **recipe})
        with tempfile.TemporaryDirectory() as work:
            out = Path(work)
            metrics = train_language_model(
                args.data,
                spec["model"],
                settings,
                out / "model.pt",
                out / "metrics.json",
                out / "history.csv",
                args.model,
                threads=args.threads,
            )
        rows.append(
            {
                "recipe": name,
                "valid ppl": metrics["splits"]["valid"]["ppl"],
                "test ppl": metrics["splits"]["test"]["ppl"],
                "train s": metrics["train_seconds"],
            }
        )
        print(rows[-1], flush=True)
    print(f"{args.model}: {spec['model']}, {spec['train']}")
    print(tabulate(rows, headers="keys", tablefmt="github", floatfmt=".1f"))


if __name__ == "__main__":
    main()
