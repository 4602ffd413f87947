"""Probing speed: rnnscope.probes.fit_probes against a naive loop that re-reads states per probe.

A randomly initialised character LSTM (default 2x128) is extracted over generated text (train
and test splits) and the text labelled with the ``char_text`` hypotheses, as the pipeline does.
Both sides then fit every layer x kind x hypothesis x weighting probe with the pipeline's default
settings (standardised features, lbfgs logistic regression with plain and balanced class
weights, linear regression for continuous hypotheses, one BLAS thread per fit). The naive loop
reads the probe's state column of both splits from Parquet again for every probe and computes
the same scores, which must equal the project's.

    .venv/bin/python bench/probe_speed.py [--train-tokens 20000 --test-tokens 10000 --kinds h --runs 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from harness import Figure, char_corpus, median, speed_ratio, timed_rounds, write_results
from rnnscope.data import build_vocab, write_splits
from rnnscope.downloads import fetch_tagger_data
from rnnscope.extract import extract_states
from rnnscope.hypotheses import label_split
from rnnscope.labels import read_labels
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.probes import CLASS_WEIGHTS, LABEL_DTYPES, ProbeSettings, fit_probes
from rnnscope.states import read_info, read_matrices
from rnnscope.train import TrainSettings, save_checkpoint


def make_inputs(folder: Path, args: argparse.Namespace) -> dict[str, Path]:
    """States and labels Parquet files of both splits; returns their paths by name."""
    text = char_corpus(args.train_tokens + args.test_tokens)
    vocab = build_vocab(text)
    write_splits({"train": text[: args.train_tokens], "test": text[args.train_tokens :]}, vocab, folder)
    torch.manual_seed(0)
    model = RNNModel(
        ModelConfig(cell="lstm", vocab_size=len(vocab), hidden=args.hidden, layers=args.layers, init_range=0.08)
    )
    checkpoint = folder / "model.pt"
    save_checkpoint(checkpoint, model, TrainSettings(epochs=1, batch_size=1, seq_len=1, lr=1.0), step=0, epoch=0)
    # NLTK's tagger files for the noun/verb labels, fetched as rule download_tagger_data does.
    tagger_data = folder / "nltk_data"
    fetch_tagger_data(tagger_data)
    paths = {}
    for split in ("train", "test"):
        paths[f"{split}_states"] = folder / f"states_{split}.parquet"
        paths[f"{split}_labels"] = folder / f"labels_{split}.parquet"
        extract_states(
            checkpoint,
            folder / f"{split}.txt",
            folder / "vocab.json",
            paths[f"{split}_states"],
            "bench",
            kinds="all" if args.kinds == ["all"] else args.kinds,
            threads=args.threads,
        )
        label_split(folder / f"{split}.txt", "char_text", paths[f"{split}_labels"], tagger_data=tagger_data)
    return paths


def naive_probes(paths: dict[str, Path], settings: ProbeSettings) -> pd.DataFrame:
    """One probe at a time, each reading its states from Parquet; returns the scores per probe."""
    labels = {split: read_labels(paths[f"{split}_labels"]) for split in ("train", "test")}
    train_frame, kinds = labels["train"]
    test_frame = labels["test"][0]
    rows = []
    with threadpool_limits(limits=settings.n_jobs, user_api="blas"):
        for column in read_info(paths["train_states"]).columns:
            for hypothesis, kind in kinds.items():
                train_rows = np.flatnonzero(train_frame[hypothesis].notna().to_numpy())
                test_rows = np.flatnonzero(test_frame[hypothesis].notna().to_numpy())
                y_train = train_frame[hypothesis].iloc[train_rows].to_numpy(dtype=LABEL_DTYPES[kind])
                y_test = test_frame[hypothesis].iloc[test_rows].to_numpy(dtype=LABEL_DTYPES[kind])
                if min(len(np.unique(y_train)), len(np.unique(y_test))) < 2:
                    continue
                for weighting in settings.weightings if kind != "continuous" else ("none",):
                    x_train = read_matrices(paths["train_states"], [column])[column][train_rows]
                    x_test = read_matrices(paths["test_states"], [column])[column][test_rows]
                    if kind == "continuous":
                        estimator = LinearRegression()
                    else:
                        estimator = LogisticRegression(
                            C=settings.C, class_weight=CLASS_WEIGHTS[weighting], max_iter=settings.max_iter
                        )
                    predicted = make_pipeline(StandardScaler(), estimator).fit(x_train, y_train).predict(x_test)
                    score = r2_score(y_test, predicted) if kind == "continuous" else accuracy_score(y_test, predicted)
                    rows.append({"column": column, "hypothesis": hypothesis, "weighting": weighting, "score": score})
    return pd.DataFrame(rows)


def measure(args: argparse.Namespace, folder: Path) -> tuple[list[Figure], dict]:
    # In a child process: extraction pins glibc's mmap threshold for its process, which would
    # change the cost of every allocation in the fits timed here (the pipeline probes in its own process).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        paths = pool.submit(make_inputs, folder, args).result()
    settings = ProbeSettings(
        max_train_rows=args.train_tokens,
        max_test_rows=args.test_tokens,
        max_iter=300,
        C=1.0,
        seed=0,
        weightings=("plain", "balanced"),
        standardize=True,
        n_jobs=1,
        control=False,  # the naive loop fits no control task: the same work on both sides
    )
    tables: list[pd.DataFrame] = []
    naive_tables: list[pd.DataFrame] = []

    def project() -> None:
        tables.append(
            fit_probes(
                paths["train_states"],
                paths["test_states"],
                paths["train_labels"],
                paths["test_labels"],
                settings,
                folder / "metrics.csv",
                folder / "weights.npz",
                model="bench",
            )
        )

    def warm_up() -> None:
        small = ProbeSettings(**vars(settings) | {"max_train_rows": 1000, "max_test_rows": 1000})
        fit_probes(
            paths["train_states"],
            paths["test_states"],
            paths["train_labels"],
            paths["test_labels"],
            small,
            folder / "metrics.csv",
            folder / "weights.npz",
            model="bench",
        )

    seconds = timed_rounds(
        {"project": project, "naive": lambda: naive_tables.append(naive_probes(paths, settings))},
        args.runs,
        warmups={"project": warm_up, "naive": lambda: None},  # the same sklearn code: one warm-up serves both
    )

    table = tables[-1][tables[-1]["status"] == "ok"]
    scores = table["r2"].where(table["target_kind"] == "continuous", table["accuracy"]).to_numpy()
    naive = naive_tables[-1]
    if len(naive) != len(table):
        raise RuntimeError(f"the naive loop fitted {len(naive)} probes, the project {len(table)}")
    difference = float(np.abs(scores - naive["score"].to_numpy()).max())
    probes = len(table)
    ratio = speed_ratio(seconds["project"], seconds["naive"])
    project_s, naive_s = median(seconds["project"]), median(seconds["naive"])
    shape = f"{args.layers}x{args.hidden} LSTM, kinds {','.join(args.kinds)}, {probes} probes"
    figures = [
        Figure(f"probing total ({shape})", project_s, "s", "naive loop, re-reads states per probe", naive_s, ratio),
        Figure(
            f"probing per probe ({args.train_tokens} train / {args.test_tokens} test rows)",
            1000 * project_s / probes,
            "ms",
            "naive loop",
            1000 * naive_s / probes,
            ratio,
        ),
        Figure("scores max |project - naive loop|", difference, "", target="<= 1e-12", met=difference <= 1e-12),
    ]
    return figures, {"seconds": seconds, "probes": probes, "hypotheses": sorted(table["hypothesis"].unique())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-tokens", type=int, default=20_000)
    parser.add_argument("--test-tokens", type=int, default=10_000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--kinds", nargs="+", default=["h"], help="state kinds probed (h c i f g o, or all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the extraction that makes the inputs")
    parser.add_argument("--out", default=None, help="JSON path (default results/bench/probe_speed.json)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="probe_speed_") as tmp:
        figures, details = measure(args, Path(tmp))
    write_results("probe_speed", vars(args) | details, figures, args.out)


if __name__ == "__main__":
    main()
