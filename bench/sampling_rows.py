"""What extract.sampling changes, measured on the mirror's real data (not part of bench/run.py).

Builds the default config's Tiny Shakespeare and Linux splits from the mirror, then prints:
1. the base rate of every binary hypothesis in the probes' test and train rows (after
   probe.warmup_tokens), prefix (first max_tokens) vs spread (max_tokens positions drawn over the
   split) vs the whole split;
2. wall time, RSS before the call and peak RSS during it (VmHWM reset after the imports) of
   label_split and extract_states (an untrained model of the default
   linux_lstm shape, 3x128, kinds h and c) on the Linux splits, prefix vs spread, each in a fresh
   process.

    RNNSCOPE_MIRROR=../shared/mirror PYTHONPATH=src .venv/bin/python bench/sampling_rows.py [--work DIR] [--skip-cost]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from rnnscope.data import prepare_tarball, prepare_text
from rnnscope.downloads import MIRROR_ENV
from rnnscope.hypotheses import label_text
from rnnscope.sampling import sampled_positions

ROOT = Path(__file__).resolve().parents[1]


def build(work: Path, mirror: Path, config: dict) -> dict[str, Path]:
    datasets = config["datasets"]
    folders = {"tinyshakespeare": work / "tinyshakespeare", "linux": work / "linux"}
    if not (folders["tinyshakespeare"] / "test.txt").exists():
        prepare_text(
            mirror / datasets["tinyshakespeare"]["mirror_path"],
            datasets["tinyshakespeare"]["split"],
            folders["tinyshakespeare"],
        )
    if not (folders["linux"] / "test.txt").exists():
        prepare_tarball(mirror / datasets["linux"]["mirror_path"], datasets["linux"], folders["linux"])
    return folders


def base_rates(folders: dict[str, Path], config: dict) -> None:
    max_tokens, warmup, seed = (
        config["extract"]["max_tokens"],
        config["probe"]["warmup_tokens"],
        config["extract"]["seed"],
    )
    print("| dataset | split | hypothesis | prefix | spread | whole split |\n| --- | --- | --- | --- | --- | --- |")
    for dataset, folder in folders.items():
        for split in ("test", "train"):
            text = (folder / f"{split}.txt").read_text(encoding="utf-8")
            frame, kinds = label_text(
                text, config["datasets"][dataset]["hypotheses"], mirror=os.environ.get(MIRROR_ENV)
            )
            prefix = sampled_positions(len(text), max_tokens[split], "prefix")
            prefix = prefix[prefix >= warmup]  # the rows the probes use
            spread = sampled_positions(len(text), max_tokens[split], "spread", warmup, seed)
            for hypothesis in (name for name, kind in kinds.items() if kind == "binary"):
                values = frame[hypothesis].to_numpy(dtype=float, na_value=np.nan)
                rates = [np.nanmean(values[rows]) for rows in (prefix, spread, np.arange(warmup, len(text)))]
                print(
                    f"| {dataset} | {split} ({len(text)} chars) | {hypothesis} | "
                    + " | ".join(f"{100 * rate:.1f} %" for rate in rates)
                    + " |"
                )


def child(kind: str, sampling: str, folder: Path, split: str, config: dict, checkpoint: Path) -> None:
    """One measured run (in its own process): peak RSS counts only it."""
    rows = {"sampling": sampling, "skip": config["probe"]["warmup_tokens"], "seed": config["extract"]["seed"]}
    max_tokens = config["extract"]["max_tokens"][split]
    if kind == "label":
        from rnnscope.hypotheses import label_split
    else:
        from rnnscope.extract import extract_states
    before_mb = _status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM: the peak below is the call's, not the imports'
    start = time.perf_counter()
    if kind == "label":
        label_split(folder / f"{split}.txt", "code", folder / f"labels_{split}_{sampling}.parquet", max_tokens, **rows)
    else:
        extract_states(
            checkpoint,
            folder / f"{split}.txt",
            folder / "vocab.json",
            folder / f"states_{split}_{sampling}.parquet",
            "m",
            kinds=["h", "c"],
            max_tokens=max_tokens,
            **rows,
        )
    seconds = time.perf_counter() - start
    print(
        f"| {kind} | linux {split} | {sampling} | {seconds:.1f} s | {before_mb:.0f} MB | {_status_mb('VmHWM'):.0f} MB |",
        flush=True,
    )


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS now, VmHWM the peak), in MB."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def costs(folder: Path, work: Path) -> None:
    import json

    import torch

    from rnnscope.models import ModelConfig, RNNModel
    from rnnscope.train import TrainSettings, save_checkpoint

    vocab = json.loads((folder / "vocab.json").read_text())["tokens"]
    torch.manual_seed(0)
    model = RNNModel(ModelConfig(cell="lstm", vocab_size=len(vocab), hidden=128, layers=3, init_range=0.08)).eval()
    checkpoint = work / "untrained_3x128.pt"
    save_checkpoint(checkpoint, model, TrainSettings(epochs=1, batch_size=1, seq_len=4, lr=0.1), step=0, epoch=0)
    print(
        "| stage | split | sampling | wall | RSS before the call | peak RSS during it |\n| --- | --- | --- | --- | --- | --- |",
        flush=True,
    )
    for kind in ("label", "extract"):
        for split in ("test", "train"):
            for sampling in ("prefix", "spread"):
                subprocess.run(
                    [sys.executable, __file__, "--work", str(work), "--child", kind, sampling, split, str(checkpoint)],
                    check=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--work", type=Path, default=None, help="folder for the built splits (default: a temporary one)"
    )
    parser.add_argument("--skip-cost", action="store_true", help="only the base rates")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "SAMPLING", "SPLIT", "CHECKPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    work = args.work or Path(tempfile.mkdtemp(prefix="sampling-rows-"))
    if args.child:
        kind, sampling, split, checkpoint = args.child
        child(kind, sampling, work / "linux", split, config, Path(checkpoint))
        return
    folders = build(work, Path(os.environ[MIRROR_ENV]), config)
    base_rates(folders, config)
    if not args.skip_cost:
        costs(folders["linux"], work)


if __name__ == "__main__":
    main()
