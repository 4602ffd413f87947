"""probe.solver on a finished run's probe files: newton-cholesky against lbfgs (not part of bench/run.py).

For each model, fits the default probe table (``fit_probes`` with the config's probe settings:
control task, bootstrap intervals, every state column) on the run's spread states and labels
once per solver, alternating the solvers over ``--rounds`` rounds, and prints each solver's
median seconds, the ratio, how many classifier rows did not converge, and how far F1 and
accuracy move between the solvers.

    PYTHONPATH=src .venv/bin/python bench/probe_solver.py [--root .] [--models linux_lstm_untrained linux_lstm] [--rounds 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from tabulate import tabulate

from harness import ROOT
from rnnscope.probes import ProbeSettings, fit_probes
from rnnscope.states import UNTRAINED_SUFFIX

SOLVERS = ("lbfgs", "newton-cholesky")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the run's folder (holding results/)")
    parser.add_argument("--models", nargs="+", default=["linux_lstm_untrained", "linux_lstm"])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            dataset = config["models"][model.removesuffix(UNTRAINED_SUFFIX)]["dataset"]
            states = args.root / "results" / "states" / model
            labels = args.root / "results" / "labels" / dataset
            seconds: dict[str, list[float]] = {solver: [] for solver in SOLVERS}
            tables: dict[str, pd.DataFrame] = {}
            for _ in range(args.rounds):
                for solver in SOLVERS:
                    started = time.perf_counter()
                    tables[solver] = fit_probes(
                        states / "train_spread.parquet",
                        states / "test_spread.parquet",
                        labels / "train_spread.parquet",
                        labels / "test_spread.parquet",
                        ProbeSettings(**{**config["probe"], "solver": solver}),
                        Path(work) / f"{model}_{solver}.csv",
                        Path(work) / f"{model}_{solver}.npz",
                        model=model,
                    )
                    seconds[solver].append(time.perf_counter() - started)
            classifiers = {
                solver: table[(table.status == "ok") & (table.target_kind != "continuous")]
                for solver, table in tables.items()
            }
            moved = {
                score: (classifiers["newton-cholesky"][score] - classifiers["lbfgs"][score]).abs()
                for score in ("f1", "accuracy")
            }
            lbfgs_s, newton_s = statistics.median(seconds["lbfgs"]), statistics.median(seconds["newton-cholesky"])
            rows.append(
                {
                    "model": model,
                    "lbfgs s": lbfgs_s,
                    "newton s": newton_s,
                    "ratio": lbfgs_s / newton_s,
                    "classifier rows": len(classifiers["lbfgs"]),
                    "unconverged lbfgs": int((~classifiers["lbfgs"]["converged"].astype(bool)).sum()),
                    "unconverged newton": int((~classifiers["newton-cholesky"]["converged"].astype(bool)).sum()),
                    "max |F1 diff|": moved["f1"].max(),
                    "mean |F1 diff|": moved["f1"].mean(),
                    "max |acc diff|": moved["accuracy"].max(),
                }
            )
            print(rows[-1], flush=True)
    print(tabulate(rows, headers="keys", tablefmt="github", floatfmt=".4g"))


if __name__ == "__main__":
    main()
