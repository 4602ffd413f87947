"""How many generated samples seed 003's protocol needs: test-split F1 noise and the cost of more samples.

Trains a small Tiny Shakespeare LSTM (seed 003's 2x128 shape, Adam 0.01, ``--steps`` steps of 32 x
100 characters) from the mirror, then for each ``--sizes`` N runs the generated-text stages as the
pipeline does (500-character samples at T = 0.8 after a newline primer, split 95/5 by sample;
extraction of h and c, each sample from a zero state; char_text labels per sample; fit_probes at
the default probe settings without warm-up) and times each stage. The F1 noise of the probe-test
split: one probe per binary hypothesis (layer 1 h, 20k train rows from the first half of the
largest N's probe-train samples) is scored on disjoint groups of 5 and of 20 held-out samples
(the probe-test split at 100 and at 400 samples); the std over groups is the test-split noise.
Not part of the tests or of bench/run.py (it measures a setting, not a speed ratio).

    RNNSCOPE_MIRROR=<mirror> .venv/bin/python bench/generated_probe_size.py [--steps 400 --sizes 100 400 --out results/bench/generated_probe_size]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler

from rnnscope.extract import extract_states
from rnnscope.generate import GenerateSettings, generate_text, label_generated
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.probes import ProbeSettings, fit_probes
from rnnscope.states import read_matrices

LENGTH = 500
PRIMER = "\n"
GROUPS = (5, 20)


def train_model(text: str, steps: int, out: Path) -> tuple[Path, Path, float]:
    vocab = sorted(set(text))
    index = {char: i for i, char in enumerate(vocab)}
    data = torch.tensor([index[char] for char in text[: int(0.9 * len(text))]])
    torch.manual_seed(0)
    model = RNNModel(ModelConfig(cell="lstm", vocab_size=len(vocab), hidden=128, layers=2, init_range=0.08))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        starts = torch.randint(0, len(data) - 101, (32,))
        x = torch.stack([data[start : start + 100] for start in starts])
        y = torch.stack([data[start + 1 : start + 101] for start in starts])
        loss = torch.nn.functional.cross_entropy(model(x)[0].reshape(-1, len(vocab)), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    checkpoint, vocab_path = out / "model.pt", out / "vocab.json"
    torch.save({"model_config": model.config.to_dict(), "state_dict": model.state_dict()}, checkpoint)
    vocab_path.write_text(json.dumps({"tokens": vocab}))
    return checkpoint, vocab_path, loss.item()


def run_stages(checkpoint: Path, vocab: Path, n: int, folder: Path, mirror: Path) -> dict[str, float]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {split: folder / f"{split}.txt" for split in ("train", "test")}
    seconds = {}
    started = time.perf_counter()
    generate_text(checkpoint, vocab, paths, folder / "summary.json", GenerateSettings(n, LENGTH, 0.8, 0, PRIMER, 0.05))
    seconds["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    for split, path in paths.items():
        extract_states(
            checkpoint,
            path,
            vocab,
            folder / f"states_{split}.parquet",
            "m",
            kinds=["h", "c"],
            segment_len=len(PRIMER) + LENGTH,
        )
    seconds["extract"] = time.perf_counter() - started
    started = time.perf_counter()
    for split, path in paths.items():
        label_generated(path, PRIMER, LENGTH, "char_text", folder / f"labels_{split}.parquet", mirror=mirror)
    seconds["label"] = time.perf_counter() - started
    settings = ProbeSettings(20000, 20000, 300, 1.0, 0, ("plain", "balanced"), True, 1, warmup_tokens=0)
    started = time.perf_counter()
    fit_probes(
        *(folder / f"states_{split}.parquet" for split in paths),
        *(folder / f"labels_{split}.parquet" for split in paths),
        settings,
        folder / "metrics.csv",
        folder / "weights.npz",
    )
    seconds["probe"] = time.perf_counter() - started
    seconds["train_states_mb"] = (folder / "states_train.parquet").stat().st_size / 1e6
    return seconds


def test_noise(folder: Path, samples: int) -> dict[str, dict]:
    """F1 mean and std over disjoint groups of held-out samples, per binary hypothesis and weighting."""
    block = len(PRIMER) + LENGTH
    states = read_matrices(folder / "states_train.parquet", ["l1_h"])["l1_h"].reshape(samples, block, -1)[
        :, len(PRIMER) :
    ]
    labels = pq.read_table(folder / "labels_train.parquet").to_pandas()
    fit, held_out = samples // 2, samples - samples // 2
    rows = np.random.default_rng(0).choice(fit * LENGTH, 20000, replace=False)
    x_fit = states[:fit].reshape(-1, states.shape[-1])[rows]
    scaler = StandardScaler().fit(x_fit)
    x_held = scaler.transform(states[fit:].reshape(-1, states.shape[-1]))
    results = {}
    for hypothesis in ("capitalized_word", "noun", "verb", "next_is_newline", "inside_quotes", "inside_parentheses"):
        y = labels[hypothesis].to_numpy().reshape(samples, block)[:, len(PRIMER) :].astype(float)
        y_fit, y_held = y[:fit].reshape(-1)[rows], y[fit:]
        if len(np.unique(y_fit)) < 2:
            continue
        for weighting in ("plain", "balanced"):
            probe = LogisticRegression(max_iter=300, class_weight=None if weighting == "plain" else "balanced")
            predicted = probe.fit(scaler.transform(x_fit), y_fit).predict(x_held).reshape(held_out, LENGTH)
            row: dict = {"positive_rate": round(float(y_held.mean()), 4)}
            for size in GROUPS:
                scores = [
                    f1_score(
                        y_held[start : start + size].ravel(), predicted[start : start + size].ravel(), zero_division=0
                    )
                    for start in range(0, held_out - size + 1, size)
                ]
                row[f"groups_of_{size}"] = {
                    "groups": len(scores),
                    "f1_mean": round(float(np.mean(scores)), 3),
                    "f1_std": round(float(np.std(scores, ddof=1)), 3),
                }
            results[f"{hypothesis}/{weighting}"] = row
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--out", type=Path, default=Path("results/bench/generated_probe_size"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    mirror = Path(os.environ["RNNSCOPE_MIRROR"])
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    checkpoint, vocab, loss = train_model(
        (mirror / "tinyshakespeare/input.txt").read_text(encoding="utf-8"), args.steps, args.out
    )
    report: dict = {
        "train": {
            "steps": args.steps,
            "seconds": round(time.perf_counter() - started, 1),
            "last_batch_loss_nats": round(loss, 3),
        }
    }
    report["load_average_at_start"] = os.getloadavg()
    for n in args.sizes:
        report[f"n{n}"] = {
            key: round(value, 1) for key, value in run_stages(checkpoint, vocab, n, args.out / f"n{n}", mirror).items()
        }
        print(n, report[f"n{n}"], flush=True)
    largest = max(args.sizes)
    report["test_noise"] = test_noise(
        args.out / f"n{largest}", GenerateSettings(largest, LENGTH, 0.8, 0).split_sizes()["train"]
    )
    print(json.dumps(report, indent=1))
    (args.out / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
