"""Whether two results folders hold the same results (not part of bench/run.py).

For every file under the first folder that the second also has: CSV and Parquet tables compared
on their common columns, exactly (NaN equals NaN; columns only one side has are listed); JSON with
wall-time keys (``*second*``, ``*time*``) left out; npz array by array; text, Markdown and TSV
byte for byte (benchmarks/ skipped). Figures, checkpoints and the rest are counted as skipped.
Issue 13's check that a re-cut changed no result: a run before and a run after, same config.

    PYTHONPATH=src .venv/bin/python bench/compare_runs.py BEFORE/results AFTER/results
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


def same_frames(a: pd.DataFrame, b: pd.DataFrame) -> tuple[bool, str]:
    """Equal on the common columns; the reason when not, and the columns only one side has."""
    only = (sorted(set(a.columns) - set(b.columns)), sorted(set(b.columns) - set(a.columns)))
    note = f"; only in the first {only[0]}, only in the second {only[1]}" if only[0] or only[1] else ""
    if len(a) != len(b):
        return False, f"rows {len(a)} vs {len(b)}{note}"
    differing = []
    for column in (c for c in a.columns if c in b.columns):
        x, y = a[column].reset_index(drop=True), b[column].reset_index(drop=True)
        try:
            equal = bool(x.equals(y) or ((x == y) | (x.isna() & y.isna())).all())
        except (TypeError, ValueError):  # arrays in cells: compare their text
            equal = x.astype(str).equals(y.astype(str))
        if not equal:
            differing.append(column)
    return not differing, (f"columns differ: {differing}" if differing else "") + note


def without_wall_time(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_wall_time(v) for k, v in value.items() if "second" not in k and "time" not in k}
    return [without_wall_time(v) for v in value] if isinstance(value, list) else value


def compare(first: Path, second: Path) -> tuple[bool, str] | None:
    """(same, why not) for a comparable file; None for a skipped one."""
    if first.suffix == ".csv":
        return same_frames(pd.read_csv(first), pd.read_csv(second))
    if first.suffix == ".parquet":
        return same_frames(pq.read_table(first).to_pandas(), pq.read_table(second).to_pandas())
    if first.suffix == ".json":
        same = without_wall_time(json.loads(first.read_text())) == without_wall_time(json.loads(second.read_text()))
        return same, "" if same else "values differ"
    if first.suffix == ".npz":
        with np.load(first) as x, np.load(second) as y:
            same = set(x.files) == set(y.files) and all(np.array_equal(x[k], y[k]) for k in x.files)
        return same, "" if same else "arrays differ"
    if first.suffix in (".txt", ".md", ".tsv"):
        same = first.read_bytes() == second.read_bytes()
        return same, "" if same else "bytes differ"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args()
    counts = {"same": 0, "differ": 0, "only in the first": 0, "skipped": 0}
    for path in sorted(p for p in args.first.rglob("*") if p.is_file() and "benchmarks" not in p.parts):
        relative = path.relative_to(args.first)
        other = args.second / relative
        if not other.exists():
            counts["only in the first"] += 1
            print(f"only in the first: {relative}")
            continue
        result = compare(path, other)
        if result is None:
            counts["skipped"] += 1
            continue
        counts["same" if result[0] else "differ"] += 1
        if not result[0] or result[1]:
            print(f"{'same' if result[0] else 'DIFFERS'}: {relative} {result[1]}")
    print(counts)


if __name__ == "__main__":
    main()
