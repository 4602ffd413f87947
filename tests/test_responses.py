from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from helpers import write_states
from rnnscope.responses import (
    BAND_COLUMNS,
    BAND_PERCENTILES,
    expected_response,
    response_bands,
    top_tokens_per_unit,
    write_responses,
)
from rnnscope.states import StatesInfo, StatesWriter


def test_hand_computed_response_starts_from_zero_state(tmp_path: Path) -> None:
    path = tmp_path / "states.parquet"
    # tokens w0 w1 w0; Δh = [1, 0], [2, 2], [-1, 3] (the first step's Δ is h_0 itself)
    write_states(path, np.array([0, 1, 0]), np.array([[1, 0], [3, 2], [2, 5]], np.float32))
    frame, response = expected_response(path, "l0_h", min_count=1, batch_rows=2)
    assert frame.to_dict("list") == {"token": ["w0", "w1"], "token_id": [0, 1], "count": [2, 1]}
    np.testing.assert_allclose(response, [[0.0, 1.5], [2.0, 2.0]])
    assert response.dtype == np.float64


@pytest.mark.parametrize("batch_rows", [1, 2, 5])
def test_each_sequence_starts_from_the_zero_state(tmp_path: Path, batch_rows: int) -> None:
    path = tmp_path / "states.parquet"
    # sequences [w0 w1] [w0] [w1]: Δh = [1, 0], [2, 2] | [2, 5] | [4, 4] (each start against zero,
    # not the previous sequence's last state: one stream would give w0 [0, 1.5], w1 [2, 0.5])
    states = np.array([[1, 0], [3, 2], [2, 5], [4, 4]], np.float32)
    write_states(path, np.array([0, 1, 0, 1]), states, row_group_size=3, sequences=np.array([0, 0, 1, 2]))
    _, response = expected_response(path, "l0_h", min_count=1, batch_rows=batch_rows)
    np.testing.assert_allclose(response, [[1.5, 2.5], [3.0, 3.0]])


def naive_response(token_ids: np.ndarray, states: np.ndarray, min_count: int) -> pd.DataFrame:
    deltas = np.diff(states.astype(np.float64), axis=0, prepend=np.zeros((1, states.shape[1])))
    frame = pd.DataFrame(deltas).assign(token=[f"w{token_id}" for token_id in token_ids])
    grouped = frame.groupby("token")
    means = grouped.mean()
    return means[grouped.size() >= min_count]


@pytest.mark.parametrize("batch_rows", [5, 7, 16, 1000])
def test_streamed_response_matches_naive_group_by(tmp_path: Path, batch_rows: int) -> None:
    rng = np.random.default_rng(0)
    token_ids = rng.choice(6, size=53, p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    states = rng.uniform(-1, 1, (53, 4)).astype(np.float32)
    path = tmp_path / "states.parquet"
    write_states(path, token_ids, states)
    assert pq.ParquetFile(path).metadata.num_row_groups > 5

    frame, response = expected_response(path, "l0_h", min_count=4, batch_rows=batch_rows)
    expected = naive_response(token_ids, states, min_count=4)
    assert sorted(frame["token"]) == sorted(expected.index)
    counts = pd.Series(token_ids).map(lambda token_id: f"w{token_id}").value_counts()
    assert frame["count"].tolist() == counts.loc[frame["token"]].tolist()
    assert frame["count"].is_monotonic_decreasing
    np.testing.assert_allclose(response, expected.loc[frame["token"]].to_numpy(), rtol=1e-6, atol=1e-6)


def test_min_count_filters_and_ties_sort_by_token(tmp_path: Path) -> None:
    path = tmp_path / "states.parquet"
    token_ids = np.array([2, 1, 2, 1, 0, 3, 3, 3])
    write_states(path, token_ids, np.ones((8, 2), np.float32))
    frame, response = expected_response(path, "l0_h", min_count=2)
    assert frame["token"].tolist() == ["w3", "w1", "w2"]
    assert frame["count"].tolist() == [3, 2, 2]
    # h is constant after the first step, so only the first token (w2) has a nonzero Δ once
    np.testing.assert_allclose(response, [[0, 0], [0, 0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="min_count=4"):
        expected_response(path, "l0_h", min_count=4)


def test_bad_inputs_raise(tmp_path: Path) -> None:
    path = tmp_path / "states.parquet"
    write_states(path, np.array([0, 1, 0]), np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="l1_c"):
        expected_response(path, "l1_c", min_count=1)
    with pytest.raises(ValueError, match="min_count"):
        expected_response(path, "l0_h", min_count=0)

    shuffled = tmp_path / "shuffled.parquet"
    info = StatesInfo("test", "lstm", 1, 2, ("h",))
    with StatesWriter(shuffled, info) as writer:
        writer.write(
            {
                "position": np.array([0, 2, 1]),
                "token_id": np.zeros(3, np.int32),
                "token": np.array(["a"] * 3),
                "next_token_id": np.zeros(3, np.int32),
                "logprob_next": np.zeros(3, np.float32),
                "pred_id": np.zeros(3, np.int32),
            },
            {"l0_h": np.zeros((3, 2), np.float32)},
        )
    with pytest.raises(ValueError, match="stream in order"):
        expected_response(shuffled, "l0_h", min_count=1)


def test_top_tokens_per_unit() -> None:
    tokens = pd.Series(["a", "b", "c"])
    response = np.array([[1.0, -2.0], [3.0, 0.0], [-1.0, -5.0]])
    table = top_tokens_per_unit(tokens, response, m=2)
    assert table.to_dict("list") == {
        "unit": [0, 0, 0, 1, 1],
        "rank": [1, 2, 1, 1, 2],
        "sign": ["positive", "positive", "negative", "negative", "negative"],
        "token": ["b", "a", "c", "c", "a"],
        "response": [3.0, 1.0, -1.0, -5.0, -2.0],
    }


def test_write_responses(tmp_path: Path) -> None:
    states = tmp_path / "states.parquet"
    write_states(states, np.array([0, 1, 0]), np.array([[1, 0], [3, 2], [2, 5]], np.float32))
    write_responses(states, "l0_h", 1, 1, tmp_path / "out" / "responses.parquet", tmp_path / "out" / "top.csv")
    table = pd.read_parquet(tmp_path / "out" / "responses.parquet")
    assert table.columns.tolist() == ["token", "token_id", "count", "u0", "u1"]
    assert table["token"].tolist() == ["w0", "w1"]
    np.testing.assert_allclose(table[["u0", "u1"]].to_numpy(), [[0.0, 1.5], [2.0, 2.0]])
    top = pd.read_csv(tmp_path / "out" / "top.csv")
    assert top[["unit", "sign", "token", "response"]].values.tolist() == [
        [0, "positive", "w1", 2.0],
        [1, "positive", "w1", 2.0],
    ]


def occurrence_deltas(token_ids: np.ndarray, states: np.ndarray, token_id: int) -> np.ndarray:
    """Δh at every occurrence of ``token_id``, from h_{-1} = 0, computed without the package."""
    deltas = np.diff(states.astype(np.float64), axis=0, prepend=np.zeros((1, states.shape[1])))
    return deltas[token_ids == token_id]


@pytest.mark.parametrize("batch_rows", [4, 1000])
def test_bands_equal_numpy_percentiles_when_every_occurrence_fits(tmp_path: Path, batch_rows: int) -> None:
    rng = np.random.default_rng(1)
    token_ids = rng.choice(4, size=40, p=[0.4, 0.3, 0.2, 0.1])
    states = rng.uniform(-1, 1, (40, 3)).astype(np.float32)
    path = tmp_path / "states.parquet"
    write_states(path, token_ids, states)
    bands, missing = response_bands(path, "l0_h", ["w1", "w0", "nope"], max_samples=100, seed=0, batch_rows=batch_rows)
    assert missing == ["nope"]
    assert bands.columns.tolist() == list(BAND_COLUMNS)
    for token_id in (0, 1):
        rows = bands[bands["token"] == f"w{token_id}"].sort_values("unit")
        occurrences = occurrence_deltas(token_ids, states, token_id)
        assert rows["count"].unique().tolist() == [len(occurrences)]
        assert rows["samples"].unique().tolist() == [len(occurrences)]
        np.testing.assert_allclose(rows["response"], occurrences.mean(axis=0), atol=1e-6)
        for q in BAND_PERCENTILES:
            np.testing.assert_allclose(rows[f"p{q}"], np.percentile(occurrences, q, axis=0), atol=1e-6)
    assert (bands["p9"] <= bands["p25"]).all() and (bands["p75"] <= bands["p91"]).all()


def test_bands_subsample_is_a_set_of_real_occurrences(tmp_path: Path) -> None:
    token_ids = np.array([0, 1, 0, 0, 1, 0, 0, 0, 1])
    states = np.random.default_rng(2).uniform(-1, 1, (9, 2)).astype(np.float32)
    path = tmp_path / "states.parquet"
    write_states(path, token_ids, states)
    bands, _ = response_bands(path, "l0_h", ["w0"], max_samples=3, seed=5, batch_rows=2)
    assert bands["samples"].unique().tolist() == [3] and bands["count"].unique().tolist() == [6]
    occurrences = occurrence_deltas(token_ids, states, 0)
    # the mean still uses all six occurrences
    np.testing.assert_allclose(bands.sort_values("unit")["response"], occurrences.mean(axis=0), atol=1e-6)
    observed = bands.sort_values("unit")[[f"p{q}" for q in BAND_PERCENTILES]].to_numpy().T
    matches = [
        subset
        for subset in itertools.combinations(range(6), 3)
        if np.allclose(np.percentile(occurrences[list(subset)], BAND_PERCENTILES, axis=0), observed, atol=1e-6)
    ]
    assert matches, "the bands are not the percentiles of any 3 of the token's occurrences"
    again, _ = response_bands(path, "l0_h", ["w0"], max_samples=3, seed=5, batch_rows=7)
    pd.testing.assert_frame_equal(again, bands)


def test_write_responses_writes_bands_of_frequent_requested_tokens(tmp_path: Path) -> None:
    states = tmp_path / "states.parquet"
    write_states(states, np.array([0, 1, 0, 2]), np.arange(8, dtype=np.float32).reshape(4, 2))
    out = tmp_path / "out"
    write_responses(
        states,
        "l0_h",
        2,
        1,
        out / "responses.parquet",
        out / "top.csv",
        bands_parquet=out / "bands.parquet",
        band_tokens=["w0", "w1", "w9"],
        band_samples=10,
    )
    bands = pd.read_parquet(out / "bands.parquet")
    assert bands["token"].unique().tolist() == ["w0"]  # w1 occurs once (< min_count), w9 never
    assert bands["unit"].tolist() == [0, 1]
