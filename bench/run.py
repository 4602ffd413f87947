"""Run the speed benchmarks (all, or those named), each in its own process, and print one table.

Each benchmark writes results/bench/<name>.json; the table has one row per figure: value,
baseline, ratio (project throughput over the baseline's, > 1 = faster), target and whether it
is met. Exits 1 if a benchmark failed to run (missed targets are reported, not an error).

    .venv/bin/python bench/run.py [train_speed extract_speed probe_speed cluster_speed neurons_speed erasure_speed scaling] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from harness import RESULTS, table

BENCH = Path(__file__).resolve().parent
BENCHMARKS = (
    "train_speed",
    "extract_speed",
    "probe_speed",
    "cluster_speed",
    "neurons_speed",
    "erasure_speed",
    "scaling",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument(
        "--runs", type=int, default=None, help="timed rounds per benchmark (default: each script's own)"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    args.names = args.names or list(BENCHMARKS)
    payloads, failed = [], []
    for name in args.names:
        out = RESULTS / f"{name}.json"
        command = [sys.executable, str(BENCH / f"{name}.py"), "--out", str(out)]
        if args.runs:
            command += ["--runs", str(args.runs)]
        print(f"running {name} ...", flush=True)
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        print(f"  {name} took {time.perf_counter() - started:.0f} s", flush=True)
        if result.returncode != 0:
            print(result.stdout[-2000:] + result.stderr[-4000:], file=sys.stderr)
            failed.append(name)
            continue
        payloads.append(json.loads(out.read_text()))
    print(table(payloads))
    missed = [
        f"{payload['benchmark']}: {figure['name']}"
        for payload in payloads
        for figure in payload["figures"]
        if figure["met"] is False
    ]
    print("targets missed: " + ("; ".join(missed) if missed else "none"))
    if failed:
        print(f"failed to run: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
