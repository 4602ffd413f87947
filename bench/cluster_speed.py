"""Clustering speed: expected responses from a states Parquet file, and co-clustering, at 10k x 1500.

A synthetic states file (``--rows`` tokens, one state column of ``--units`` units, random
states) holds ``--words`` token types, each at least once and the rest drawn with Zipf-like
frequencies. Each round times, one after another:

- ``rnnscope.responses.expected_response`` (streams the file row group by row group) against
  the pandas baseline: read the token ids and the state column into memory (pyarrow), take
  Δh with numpy and ``DataFrame.groupby(token_id).mean()``; both must agree;
- ``rnnscope.coclustering.cocluster`` on the resulting words x units matrix (mode
  ``absolute``) against scikit-learn's ``SpectralCoclustering.fit`` on the same |response|
  alone; both must give the same labels;
- ``rnnscope.responses.response_bands`` (percentile bands of Δh for ``--band-tokens`` of the most
  frequent words, streamed, at most ``--band-samples`` occurrences each) against numpy's
  ``np.percentile`` over every occurrence of those words with the whole column in memory; with
  ``--band-samples`` at least the largest count both must agree exactly.

    .venv/bin/python bench/cluster_speed.py [--rows 100000 --words 10000 --units 1500 --clusters 8 --band-tokens 5 --band-samples 2000 --runs 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.cluster import SpectralCoclustering

from harness import Figure, median, speed_ratio, timed_rounds, write_results
from rnnscope.coclustering import cocluster
from rnnscope.responses import BAND_PERCENTILES, expected_response, response_bands
from rnnscope.states import StatesInfo, StatesWriter, fixed_list_to_numpy, state_column

COLUMN = state_column(0, "h")
WRITE_ROWS = 16384


def write_states(path: Path, rows: int, words: int, units: int, seed: int = 0) -> None:
    """A states file whose first ``words`` rows hold every word once, the rest Zipf-like draws."""
    if rows < words:
        raise ValueError(f"--rows ({rows}) must be >= --words ({words}) so every word occurs")
    rng = np.random.default_rng(seed)
    frequency = 1.0 / np.arange(1, words + 1)
    token_ids = np.concatenate(
        [rng.permutation(words), rng.choice(words, size=rows - words, p=frequency / frequency.sum())]
    )
    names = np.array([f"w{word}" for word in range(words)], dtype=object)
    with StatesWriter(path, StatesInfo("bench", "lstm", 1, units, ("h",))) as writer:
        for start in range(0, rows, WRITE_ROWS):
            ids = token_ids[start : start + WRITE_ROWS]
            count = len(ids)
            tokens = {
                "position": np.arange(start, start + count, dtype=np.int64),
                "token_id": ids.astype(np.int32),
                "token": names[ids],
                "next_token_id": np.zeros(count, dtype=np.int32),
                "logprob_next": np.zeros(count, dtype=np.float32),
                "pred_id": np.zeros(count, dtype=np.int32),
            }
            writer.write(tokens, {COLUMN: rng.standard_normal((count, units), dtype=np.float32)})


def pandas_responses(path: Path) -> pd.DataFrame:
    """Mean Δh per token id by a pandas group-by over the whole column read into memory."""
    table = pq.read_table(path, columns=["token_id", COLUMN])
    states = fixed_list_to_numpy(table.column(COLUMN))
    deltas = np.diff(states, axis=0, prepend=np.zeros((1, states.shape[1]), dtype=states.dtype))
    return pd.DataFrame(deltas).groupby(table.column("token_id").to_numpy()).mean()


def numpy_bands(path: Path, token_ids: list[int]) -> dict[int, np.ndarray]:
    """Percentiles of Δh per token over every occurrence, the whole column read into memory."""
    table = pq.read_table(path, columns=["token_id", COLUMN])
    states = fixed_list_to_numpy(table.column(COLUMN))
    deltas = np.diff(states, axis=0, prepend=np.zeros((1, states.shape[1]), dtype=states.dtype))
    ids = table.column("token_id").to_numpy()
    return {token_id: np.percentile(deltas[ids == token_id], BAND_PERCENTILES, axis=0) for token_id in token_ids}


def measure(args: argparse.Namespace, folder: Path) -> tuple[list[Figure], dict]:
    path = folder / "states.parquet"
    write_states(path, args.rows, args.words, args.units)
    results: dict[str, object] = {}

    def project_responses() -> None:
        results["frame"], results["response"] = expected_response(path, COLUMN, min_count=1)

    def project_cocluster() -> None:
        results["cocluster"] = cocluster(results["response"], args.clusters, "absolute", seed=0)

    def sklearn_cocluster() -> None:
        results["sklearn"] = SpectralCoclustering(n_clusters=args.clusters, random_state=0).fit(
            np.abs(results["response"])
        )

    # the band tokens: the most frequent words (w0, w1, ... by construction of the Zipf draw)
    band_ids = list(range(args.band_tokens))
    band_names = [f"w{token_id}" for token_id in band_ids]

    def project_bands() -> None:
        results["bands"], _ = response_bands(path, COLUMN, band_names, args.band_samples, seed=0)

    seconds = timed_rounds(
        {
            "responses": project_responses,
            "pandas": lambda: results.update(pandas=pandas_responses(path)),
            "cocluster": project_cocluster,
            "sklearn": sklearn_cocluster,
            "bands": project_bands,
            "numpy_bands": lambda: results.update(numpy_bands=numpy_bands(path, band_ids)),
        },
        args.runs,
    )
    frame, response = results["frame"], results["response"]
    bands = results["bands"]
    exact = bool((bands["samples"] == bands["count"]).all())
    band_difference = max(
        float(
            np.abs(
                bands[bands["token"] == f"w{token_id}"]
                .sort_values("unit")[[f"p{q}" for q in BAND_PERCENTILES]]
                .to_numpy()
                .T
                - expected
            ).max()
        )
        for token_id, expected in results["numpy_bands"].items()
    )
    baseline = results["pandas"].loc[frame["token_id"].to_numpy()].to_numpy()
    difference = float(np.abs(response - baseline).max())
    same_labels = float(
        np.mean(
            np.r_[
                results["cocluster"].row_labels == results["sklearn"].row_labels_,
                results["cocluster"].column_labels == results["sklearn"].column_labels_,
            ]
        )
    )
    responses_ratio = speed_ratio(seconds["responses"], seconds["pandas"])
    cocluster_ratio = speed_ratio(seconds["cocluster"], seconds["sklearn"])
    size = f"{len(frame)} words x {args.units} units"
    figures = [
        Figure(
            f"expected response, {size}, {args.rows} rows",
            median(seconds["responses"]),
            "s",
            "pandas group-by in memory",
            median(seconds["pandas"]),
            responses_ratio,
        ),
        Figure("expected response max |project - pandas|", difference, "", target="<= 1e-5", met=difference <= 1e-5),
        Figure(
            f"co-clustering {size}, {args.clusters} clusters",
            median(seconds["cocluster"]),
            "s",
            "sklearn SpectralCoclustering.fit alone",
            median(seconds["sklearn"]),
            cocluster_ratio,
        ),
        Figure(
            "co-cluster labels equal to sklearn's (fraction)", same_labels, "", target="== 1", met=same_labels == 1.0
        ),
        Figure(
            f"percentile bands, {args.band_tokens} most frequent words x {args.units} units (<= {args.band_samples} occurrences each)",
            median(seconds["bands"]),
            "s",
            "np.percentile over every occurrence in memory",
            median(seconds["numpy_bands"]),
            speed_ratio(seconds["bands"], seconds["numpy_bands"]),
        ),
        Figure(
            "bands max |project - numpy|" + ("" if exact else " (project subsampled: not comparable)"),
            band_difference,
            "",
            target="<= 1e-6" if exact else "",
            met=band_difference <= 1e-6 if exact else None,
        ),
    ]
    return figures, {"seconds": seconds, "parquet_mb": path.stat().st_size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=1500)
    parser.add_argument("--clusters", type=int, default=8)
    parser.add_argument(
        "--band-tokens", type=int, default=5, help="most frequent words whose percentile bands are timed"
    )
    parser.add_argument(
        "--band-samples", type=int, default=2000, help="occurrences per word behind the bands (as rnnvis.band_samples)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=None, help="JSON path (default results/bench/cluster_speed.json)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cluster_speed_") as tmp:
        figures, details = measure(args, Path(tmp))
    write_results("cluster_speed", vars(args) | details, figures, args.out)


if __name__ == "__main__":
    main()
