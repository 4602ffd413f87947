"""What side-by-side streams change in the probes' spread rows, measured on a finished run (not part of bench/run.py).

For each model, extracts its train and test ``_spread`` states twice from the run's checkpoint,
prepared splits and config, once as one uninterrupted stream (``extract.spread_streams`` 1, the
baseline) and once with the config's ``spread_streams`` and ``stream_warmup``, and prints the
seconds of each and their ratio, how far the states move (max and mean |difference| per state
column, over every kept row) and how far every probe score moves (``fit_probes`` with the
config's probe settings on both; control task, MDL and intervals off to save time).

    PYTHONPATH=src .venv/bin/python bench/spread_streams.py [--root .] [--models linux_lstm linux_gru] [--configs config/config.yaml]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from tabulate import tabulate

from harness import ROOT
from rnnscope.extract import extract_states
from rnnscope.probes import ProbeSettings, fit_probes
from rnnscope.states import STATE_KINDS, read_info, read_matrices


def merged_config(paths: list[Path]) -> dict:
    config: dict = {}
    for path in paths:
        for key, value in yaml.safe_load(path.read_text()).items():
            config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the run's folder (holding results/)")
    parser.add_argument("--models", nargs="+", default=["linux_lstm", "linux_gru"])
    parser.add_argument("--configs", nargs="+", type=Path, default=[ROOT / "config" / "config.yaml"])
    args = parser.parse_args()
    config = merged_config(args.configs)
    extract, probe = config["extract"], config["probe"]
    streams, warmup = extract.get("spread_streams", 64), extract.get("stream_warmup", 1000)
    timings, state_rows, score_rows = [], [], []
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            dataset = config["models"][model]["dataset"]
            cell = config["models"][model]["model"]["cell"]
            kinds = [kind for kind in STATE_KINDS[cell] if extract["kinds"] == "all" or kind in extract["kinds"]]
            data = args.root / "results" / "data" / dataset
            files: dict[tuple[str, int], Path] = {}
            for split in ("train", "test"):
                for count in (1, streams):
                    out = Path(work) / f"{model}_{split}_{count}.parquet"
                    started = time.perf_counter()
                    extract_states(
                        args.root / "results" / "train" / model / "model.pt",
                        data / f"{split}.txt",
                        data / "vocab.json",
                        out,
                        model_name=model,
                        kinds=kinds,
                        max_tokens=extract["max_tokens"][split],
                        chunk_len=extract["chunk_len"],
                        sampling="spread",
                        skip=probe["warmup_tokens"],
                        seed=extract["seed"],
                        streams=count,
                        stream_warmup=warmup,
                    )
                    timings.append(
                        {"model": model, "split": split, "streams": count, "seconds": time.perf_counter() - started}
                    )
                    files[split, count] = out
                columns = read_info(files[split, 1]).columns
                exact, streamed = read_matrices(files[split, 1], columns), read_matrices(files[split, streams], columns)
                for column in columns:
                    difference = np.abs(exact[column] - streamed[column])
                    state_rows.append(
                        {
                            "model": model,
                            "split": split,
                            "column": column,
                            "max |diff|": difference.max(),
                            "mean |diff|": difference.mean(),
                        }
                    )
            settings = ProbeSettings(**{**probe, "control": False, "bootstrap": 0, "mdl": {"enabled": False}})
            labels = args.root / "results" / "labels" / dataset
            metrics = {
                count: fit_probes(
                    files["train", count],
                    files["test", count],
                    labels / "train_spread.parquet",
                    labels / "test_spread.parquet",
                    settings,
                    Path(work) / f"{model}_{count}.csv",
                    Path(work) / f"{model}_{count}.npz",
                    model=model,
                )
                for count in (1, streams)
            }
            for score in ("f1", "r2"):
                both = metrics[1][score].notna()
                moved = (metrics[streams][score] - metrics[1][score])[both].abs()
                score_rows.append(
                    {
                        "model": model,
                        "score": score,
                        "probes": int(both.sum()),
                        "max |diff|": moved.max(),
                        "mean |diff|": moved.mean(),
                    }
                )
    timing = pd.DataFrame(timings).pivot_table(index=["model", "split"], columns="streams", values="seconds")
    timing["ratio (1 stream / streams)"] = timing[1] / timing[streams]
    print(f"spread_streams {streams}, stream_warmup {warmup}, extract.max_tokens {extract['max_tokens']}")
    print(tabulate(timing.reset_index(), headers="keys", tablefmt="github", floatfmt=".2f", showindex=False))
    print(tabulate(state_rows, headers="keys", tablefmt="github", floatfmt=".2e"))
    print(tabulate(score_rows, headers="keys", tablefmt="github", floatfmt=".4f"))


if __name__ == "__main__":
    main()
