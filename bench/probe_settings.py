"""Probe settings on a finished run's probe files: the config's probe settings against one change
(not part of bench/run.py).

For each model, fits the default probe table (``fit_probes`` with the config's probe settings:
control task, bootstrap intervals, every state column) on the run's spread states and labels
once as configured and once with ``--change`` applied (dotted keys within ``probe``, YAML
values), alternating them over ``--rounds`` rounds, and prints each one's median seconds, the
ratio, how many classifier rows did not converge, and how far F1 and accuracy move.

    PYTHONPATH=src .venv/bin/python bench/probe_settings.py [--root .] [--models linux_lstm_untrained linux_lstm] \
        [--change solver=lbfgs] [--rounds 1]

``--change solver=lbfgs``: what the Newton solver saves (docs/measurements.md, "Probe solver");
``--change mdl.enabled=true``: what the online codelength adds.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from tabulate import tabulate

from harness import ROOT
from rnnscope.probes import ProbeSettings, fit_probes
from rnnscope.states import UNTRAINED_SUFFIX


def changed(settings: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """``settings`` with each ``dotted.key=value`` of ``changes`` set (the value read as YAML)."""
    settings = copy.deepcopy(settings)
    for change in changes:
        key, _, value = change.partition("=")
        *parents, leaf = key.split(".")
        section = settings
        for parent in parents:
            section = section.setdefault(parent, {})
        section[leaf] = yaml.safe_load(value)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the run's folder (holding results/)")
    parser.add_argument("--models", nargs="+", default=["linux_lstm_untrained", "linux_lstm"])
    parser.add_argument(
        "--change", nargs="+", default=["solver=lbfgs"], help="dotted probe keys, e.g. mdl.enabled=true"
    )
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    variants = {"configured": config["probe"], "changed": changed(config["probe"], args.change)}
    print(f"changed: {' '.join(args.change)}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            dataset = config["models"][model.removesuffix(UNTRAINED_SUFFIX)]["dataset"]
            states = args.root / "results" / "states" / model
            labels = args.root / "results" / "labels" / dataset
            seconds: dict[str, list[float]] = {name: [] for name in variants}
            tables: dict[str, pd.DataFrame] = {}
            for _ in range(args.rounds):
                for name, settings in variants.items():
                    started = time.perf_counter()
                    tables[name] = fit_probes(
                        states / "train_spread.parquet",
                        states / "test_spread.parquet",
                        labels / "train_spread.parquet",
                        labels / "test_spread.parquet",
                        ProbeSettings(**settings),
                        Path(work) / f"{model}_{name}.csv",
                        Path(work) / f"{model}_{name}.npz",
                        model=model,
                    )
                    seconds[name].append(time.perf_counter() - started)
            classifiers = {
                name: table[(table.status == "ok") & (table.target_kind != "continuous")]
                for name, table in tables.items()
            }
            moved = {
                score: (classifiers["changed"][score] - classifiers["configured"][score]).abs()
                for score in ("f1", "accuracy")
            }
            configured_s, changed_s = statistics.median(seconds["configured"]), statistics.median(seconds["changed"])
            rows.append(
                {
                    "model": model,
                    "configured s": configured_s,
                    "changed s": changed_s,
                    "changed / configured": changed_s / configured_s,
                    "classifier rows": len(classifiers["configured"]),
                    "unconverged configured": int((~classifiers["configured"]["converged"].astype(bool)).sum()),
                    "unconverged changed": int((~classifiers["changed"]["converged"].astype(bool)).sum()),
                    "max |F1 diff|": moved["f1"].max(),
                    "mean |F1 diff|": moved["f1"].mean(),
                    "max |acc diff|": moved["accuracy"].max(),
                }
            )
            print(rows[-1], flush=True)
    print(tabulate(rows, headers="keys", tablefmt="github", floatfmt=".4g"))


if __name__ == "__main__":
    main()
