"""Copy a finished run's tables into a folder meant to be committed (``docs/results/<name>/``),
stamped with the commit and config files that made them, so a reader sees measured numbers
without running anything.

    python -m rnnscope.publish RESULTS_DIR OUT_DIR --configs config/config.yaml config/reproduce.yaml
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

# The small tables a reader needs (results/tables/<name>.csv and its .md caption where written).
PUBLISHED_TABLES = (
    "perplexity",
    "ptb_perplexity",
    "probes_by_seed",
    "probe_comparison",
    "probes_generated",
    "ablation",
    "neuron_rankings",
    "erasure",
    "srn_counting",
    "tiny_rnn_weights",
    "sentiment",
    "sentiment_views",
    "benchmarks",
)


def git_describe(root: Path) -> str:
    """The commit of ``root`` (and "+ uncommitted changes" when its tree is dirty)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()

    commit = git("rev-parse", "HEAD")
    return commit + (" + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def publish(
    results: str | Path,
    out_dir: str | Path,
    configs: Sequence[str],
    root: str | Path = ".",
    figures: Sequence[str] = (),
    wall_time: str | None = None,
) -> list[Path]:
    """Copy :data:`PUBLISHED_TABLES` present under ``results/tables`` to ``out_dir`` and write its
    README.md: commit, configs, the run's wall time (``wall_time``, as measured around it) and summed
    job time, and the list of tables; ``figures`` (paths under ``results``) go to ``out_dir/figures``."""
    results, out_dir, root = Path(results), Path(out_dir), Path(root)
    tables = results / "tables"
    if not tables.is_dir():
        raise FileNotFoundError(f"{tables} does not exist: run the pipeline first (snakemake --configfile ...)")
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in PUBLISHED_TABLES:
        for suffix in (".csv", ".md"):
            source = tables / f"{name}{suffix}"
            if source.exists():
                copied.append(Path(shutil.copy(source, out_dir / source.name)))
    for figure in figures:
        source = results / figure
        if not source.is_file():
            raise FileNotFoundError(f"{source} does not exist: name figures relative to {results}")
        target = out_dir / "figures" / figure.replace("/", "__")
        target.parent.mkdir(exist_ok=True)
        copied.append(Path(shutil.copy(source, target)))
    lines = [
        f"# Measured results: {out_dir.name}",
        "",
        f"- commit: `{git_describe(root)}`",
        f"- configs: {' '.join(f'`{config}`' for config in configs)}",
        f"- published: {datetime.date.today().isoformat()} from `{results}`",
    ]
    if wall_time:
        lines.append(f"- wall time of the whole run: {wall_time}")
    benchmarks = tables / "benchmarks.csv"
    if benchmarks.exists():
        total = pd.read_csv(benchmarks).set_index("rule").loc["total"].to_dict()
        lines.append(
            f"- jobs: {int(total['jobs'])}, summed job wall time {total['wall_s'] / 60:.1f} min (Snakemake benchmarks)"
        )
    lines += ["", "Tables (each `.md` holds the caption saying where its numbers come from):", ""]
    lines += [f"- [{path.name}]({path.relative_to(out_dir)})" for path in copied]
    readme = out_dir / "README.md"
    readme.write_text("\n".join(lines) + "\n")
    return [*copied, readme]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="the run's results folder")
    parser.add_argument("out_dir", help="where the tables go, e.g. docs/results/reproduce")
    parser.add_argument("--configs", nargs="+", required=True, help="the config files the run used")
    parser.add_argument("--figures", nargs="*", default=[], help="PNGs under the results folder to copy as well")
    parser.add_argument("--wall-time", help="the run's measured wall time, e.g. '2 h 10 min (snakemake, cold)'")
    args = parser.parse_args(argv)
    for path in publish(args.results, args.out_dir, args.configs, figures=args.figures, wall_time=args.wall_time):
        print(path)


if __name__ == "__main__":
    main()
