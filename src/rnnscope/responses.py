"""Expected response of hidden units to each word (RNNVis, Ming et al. 2017), and its spread.

For a token type x, s(x) = E[Δh_t | x_t = x] with Δh_t = h_t − h_{t−1}, estimated as the mean of
Δh_t over the occurrences of x (seed 002: ŝ(x) = Σ_{x(t)=x} Δh(t) / Σ_{x(t)=x} 1). A token is
whatever the states file's ``token`` column holds: a character for char models, a word for word
models.

Sequence-boundary convention: Δ at a sequence's first token is its state itself (h_{−1} = 0, the
zero state the sequence was read from); every later step's Δ is taken against the true previous
state of the same sequence. A language model's split is ONE stream (no resets at line or sentence
ends); a sentiment classifier's states file holds each sentence as its own sequence (the states
file's ``sequence`` column). First steps are kept (not dropped): a language model's is one
occurrence among thousands, and dropping it would make s(x) depend on which token opens the split;
a classifier's first words are what each sentence starts from.

The spread for the detail view (25–75 and 9–91 percentile bands per token and unit) needs the
distribution of Δh, not just its sum, so it is computed only for the tokens the detail view asks
for, from at most ``max_samples`` occurrences per token: a uniform sample without replacement
drawn after the counting pass (which knows each token's count), so memory is bounded by
tokens × max_samples × hidden floats whatever the corpus length, and the bands are exact (every
occurrence used) for tokens with at most ``max_samples`` occurrences.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from rnnscope.artifacts import write_atomically
from rnnscope.states import (
    StatesInfo,
    fixed_list_to_numpy,
    open_parquet,
    read_info,
    reading_parquet,
)

log = logging.getLogger(__name__)

RESPONSE_METADATA_COLUMNS = ("token", "token_id", "count")


def unit_column(unit: int) -> str:
    """Name of the responses-table column holding unit ``unit``."""
    return f"u{unit}"


def _iter_stream_batches(
    parquet: pq.ParquetFile, columns: list[str], batch_rows: int, path: str | Path
) -> Iterator[pa.RecordBatch]:
    """The file's rows in order, in batches of at most ``batch_rows`` that never span row groups.

    One reader per row group: with a single ``iter_batches`` over the whole file, pyarrow 26's
    resident memory grows with the rows read for fixed_size_list columns (measured +480 MB over
    800k rows × 200 units, outside Arrow's memory pool), while per-row-group readers stay flat.
    """
    for row_group in range(parquet.num_row_groups):
        with reading_parquet(path):  # ``path`` is the file ``parquet`` reads, named in the error
            yield from parquet.iter_batches(batch_size=batch_rows, row_groups=[row_group], columns=columns)


def _count_tokens(parquet: pq.ParquetFile, batch_rows: int, path: str | Path) -> tuple[np.ndarray, dict[int, str]]:
    """Occurrences per token id and each id's text, checking the rows form one stream in order."""
    counts = np.zeros(0, dtype=np.int64)
    names: dict[int, str] = {}
    expected_position = 0
    for batch in _iter_stream_batches(parquet, ["position", "token_id", "token"], batch_rows, path):
        positions = batch.column("position").to_numpy()
        if positions[0] != expected_position or np.any(np.diff(positions) != 1):
            raise ValueError(
                f"rows are not one stream in order (expected position {expected_position}, found "
                f"{positions[0]}..{positions[-1]}); expected responses need the states of a whole "
                "split written in stream order from position 0"
            )
        expected_position += len(positions)
        ids = batch.column("token_id").to_numpy()
        batch_counts = np.bincount(ids)
        if len(batch_counts) > len(counts):
            counts = np.pad(counts, (0, len(batch_counts) - len(counts)))
        counts[: len(batch_counts)] += batch_counts
        unique_ids, first_rows = np.unique(ids, return_index=True)
        unnamed = np.array([token_id not in names for token_id in unique_ids.tolist()], dtype=bool)
        texts = batch.column("token").take(pa.array(first_rows[unnamed])).to_pylist()
        names.update(zip(unique_ids[unnamed].tolist(), texts, strict=True))
    return counts, names


def _iter_deltas(
    parquet: pq.ParquetFile, column: str, hidden: int, batch_rows: int, path: str | Path
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(token ids, Δh) per batch of the stream, with h_{−1} = 0 at each sequence's start (see the
    module docstring)."""
    previous = np.zeros(hidden, dtype=np.float32)  # the state before the batch's first row
    previous_sequence = -1  # the first row starts a sequence
    for batch in _iter_stream_batches(parquet, [column, "token_id", "sequence"], batch_rows, path):
        states = fixed_list_to_numpy(batch.column(column))
        sequences = batch.column("sequence").to_numpy()
        deltas = np.empty_like(states)
        deltas[0] = states[0] - previous
        np.subtract(states[1:], states[:-1], out=deltas[1:])
        starts = np.flatnonzero(np.diff(sequences, prepend=previous_sequence))
        deltas[starts] = states[starts]
        previous, previous_sequence = states[-1].copy(), sequences[-1]
        yield batch.column("token_id").to_numpy(), deltas


def _open_states(states_path: str | Path, column: str) -> tuple[StatesInfo, pq.ParquetFile]:
    info = read_info(states_path)
    if column not in info.columns:
        raise ValueError(f"state column {column!r} not in {states_path}; available: {info.columns}")
    parquet = open_parquet(states_path)
    if parquet.metadata.num_rows == 0:
        raise ValueError(f"{states_path} holds no rows; extract states before computing responses")
    return info, parquet


def expected_response(
    states_path: str | Path, column: str, min_count: int, batch_rows: int = 65536
) -> tuple[pd.DataFrame, np.ndarray]:
    """Mean Δh per token type occurring at least ``min_count`` times, streamed batch by batch.

    Returns a frame ``token, token_id, count`` sorted by count (descending) then token, and the
    (tokens × hidden) float64 response matrix in the same row order. Memory is bounded by one batch
    (at most one row group) plus (kept tokens × hidden), whatever the file's length.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    info, parquet = _open_states(states_path, column)
    started = time.perf_counter()
    counts, names = _count_tokens(parquet, batch_rows, states_path)

    kept_ids = np.flatnonzero(counts >= min_count)
    if len(kept_ids) == 0:
        raise ValueError(
            f"no token occurs at least min_count={min_count} times in {states_path} "
            f"(the most frequent occurs {counts.max()} times); lower min_count"
        )
    frame = pd.DataFrame(
        {
            "token": [names[token_id] for token_id in kept_ids.tolist()],
            "token_id": kept_ids.astype(np.int32),
            "count": counts[kept_ids],
        }
    )
    frame = frame.sort_values(["count", "token"], ascending=[False, True], kind="stable", ignore_index=True)
    row_of_id = np.full(len(counts), -1, dtype=np.int64)
    row_of_id[frame["token_id"].to_numpy()] = np.arange(len(frame))

    sums = np.zeros((len(frame), info.hidden), dtype=np.float64)
    for token_ids, deltas in _iter_deltas(parquet, column, info.hidden, batch_rows, states_path):
        rows = row_of_id[token_ids]
        steps = np.flatnonzero(rows >= 0)
        # A float32 sparse indicator matmul: 0.06 s per 65536 × 1500 batch against 2.8 s in float64
        # and 10 s with np.add.at. Each batch's float32 sums are accumulated in float64 (measured
        # max |error| of the means 1.2e-7 against a float64 group-by).
        indicator = sp.csr_array(
            (np.ones(len(steps), dtype=np.float32), (rows[steps], steps)), shape=(len(frame), len(rows))
        )
        sums += indicator @ deltas
    response = sums / frame["count"].to_numpy()[:, None]
    log.info(
        "expected response of %s: %d rows, %d of %d token types with count >= %d, %.1f s",
        column,
        parquet.metadata.num_rows,
        len(frame),
        np.count_nonzero(counts),
        min_count,
        time.perf_counter() - started,
    )
    return frame, response


BAND_PERCENTILES = (9, 25, 50, 75, 91)
BAND_COLUMNS = ("token", "unit", "count", "samples", "response", *(f"p{q}" for q in BAND_PERCENTILES))


def response_bands(
    states_path: str | Path,
    column: str,
    tokens: Sequence[str],
    max_samples: int,
    seed: int,
    batch_rows: int = 65536,
) -> tuple[pd.DataFrame, list[str]]:
    """Percentiles 9, 25, 50, 75, 91 of Δh per (token, unit) for the requested ``tokens``.

    Returns a long frame with columns ``BAND_COLUMNS`` (``response`` is the exact mean over every
    occurrence, ``samples`` how many occurrences the percentiles use) and the requested tokens
    that do not occur in the file. Percentiles use numpy's default (linear) interpolation.
    Memory: one batch plus len(tokens) × min(count, max_samples) × hidden float32.
    """
    if max_samples < 1:
        raise ValueError(f"max_samples (occurrences per token for the bands) must be >= 1, got {max_samples}")
    info, parquet = _open_states(states_path, column)
    counts, names = _count_tokens(parquet, batch_rows, states_path)
    id_of_name = {name: token_id for token_id, name in names.items()}
    wanted = list(dict.fromkeys(tokens))
    missing = [token for token in wanted if token not in id_of_name]
    found = [token for token in wanted if token in id_of_name]
    if not found:
        return pd.DataFrame(columns=list(BAND_COLUMNS)), missing
    rng = np.random.default_rng(seed)
    ids = np.array([id_of_name[token] for token in found])
    # Which occurrences (0-based, in stream order) of each token are kept: decided before the pass.
    keep = []
    for token_id in ids.tolist():
        count = int(counts[token_id])
        mask = np.zeros(count, dtype=bool)
        mask[rng.choice(count, size=min(count, max_samples), replace=False)] = True
        keep.append(mask)
    samples = [np.empty((int(mask.sum()), info.hidden), dtype=np.float32) for mask in keep]
    sums = np.zeros((len(ids), info.hidden), dtype=np.float64)
    seen = np.zeros(len(ids), dtype=np.int64)
    filled = np.zeros(len(ids), dtype=np.int64)
    for token_ids, deltas in _iter_deltas(parquet, column, info.hidden, batch_rows, states_path):
        for index, token_id in enumerate(ids.tolist()):
            rows = np.flatnonzero(token_ids == token_id)
            if len(rows) == 0:
                continue
            sums[index] += deltas[rows].sum(axis=0, dtype=np.float64)
            kept = rows[keep[index][seen[index] : seen[index] + len(rows)]]
            samples[index][filled[index] : filled[index] + len(kept)] = deltas[kept]
            seen[index] += len(rows)
            filled[index] += len(kept)
    parts = []
    for index, token in enumerate(found):
        percentiles = np.percentile(samples[index], BAND_PERCENTILES, axis=0)
        part = {
            "token": token,
            "unit": np.arange(info.hidden),
            "count": int(seen[index]),
            "samples": len(samples[index]),
            "response": sums[index] / seen[index],
        }
        part.update((f"p{q}", values) for q, values in zip(BAND_PERCENTILES, percentiles, strict=True))
        parts.append(pd.DataFrame(part))
    log.info(
        "response bands of %s for %d tokens (at most %d occurrences each); not in the file: %s",
        column,
        len(found),
        max_samples,
        missing or "none",
    )
    return pd.concat(parts, ignore_index=True), missing


def top_tokens_per_unit(tokens: pd.Series, response: np.ndarray, m: int) -> pd.DataFrame:
    """Per unit, the ``m`` tokens with the largest positive and the ``m`` with the most negative response.

    Columns: unit, rank (1 = strongest), sign ("positive"/"negative"), token, response. A unit
    with fewer than ``m`` responses of a sign lists only those; ties keep the tokens' order.
    """
    if m < 1:
        raise ValueError(f"m (tokens per unit and sign) must be >= 1, got {m}")
    if len(tokens) != response.shape[0]:
        raise ValueError(f"{len(tokens)} tokens but the response matrix has {response.shape[0]} rows")
    token_values = np.asarray(tokens)
    n_tokens, n_units = response.shape
    m = min(m, n_tokens)
    parts = []
    for sign, signed in (("positive", response), ("negative", -response)):
        # rows: rank, columns: unit
        order = np.argsort(-signed, axis=0, kind="stable")[:m]
        values = np.take_along_axis(response, order, axis=0)
        part = pd.DataFrame(
            {
                "unit": np.tile(np.arange(n_units), m),
                "rank": np.repeat(np.arange(1, m + 1), n_units),
                "sign": sign,
                "token": token_values[order.ravel()],
                "response": values.ravel(),
            }
        )
        parts.append(part[np.take_along_axis(signed, order, axis=0).ravel() > 0])
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["unit", "sign", "rank"], ascending=[True, False, True], ignore_index=True)


def write_responses(
    states_path: str | Path,
    column: str,
    min_count: int,
    top_m: int,
    responses_parquet: str | Path,
    top_csv: str | Path,
    bands_parquet: str | Path | None = None,
    band_tokens: Sequence[str] = (),
    band_samples: int = 2000,
    seed: int = 0,
    batch_rows: int = 65536,
) -> None:
    """Write the response matrix (token, token_id, count, u0..u{H-1}) as Parquet, the top tokens as
    CSV and, when ``bands_parquet`` is given, the percentile bands of ``band_tokens`` (long format)."""
    frame, response = expected_response(states_path, column, min_count, batch_rows)
    columns = {name: pa.array(frame[name]) for name in RESPONSE_METADATA_COLUMNS}
    columns.update((unit_column(unit), pa.array(values)) for unit, values in enumerate(response.T))
    table = pa.table(columns)
    write_atomically(responses_parquet, lambda partial: pq.write_table(table, partial, compression="zstd"))

    top_csv = Path(top_csv)
    top_csv.parent.mkdir(parents=True, exist_ok=True)
    top_tokens_per_unit(frame["token"], response, top_m).to_csv(top_csv, index=False)

    if bands_parquet is not None:
        bands, _ = response_bands(states_path, column, band_tokens, band_samples, seed, batch_rows)
        bands = bands[bands["count"] >= min_count] if len(bands) else bands
        write_atomically(bands_parquet, lambda partial: bands.to_parquet(partial, index=False))
