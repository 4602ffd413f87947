from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rnnscope.coclustering import cluster_tables, cocluster, run_coclustering

BLOCK_VALUES = (1.0, 2.0, 3.0)
OFF_BLOCK = -0.5


def planted_response(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """30 tokens × 15 units: token group g responds BLOCK_VALUES[g] (±10%) to unit group g, -0.5 elsewhere."""
    rng = np.random.default_rng(seed)
    row_groups = np.repeat([0, 1, 2], 10)
    column_groups = np.repeat([0, 1, 2], 5)
    response = np.full((30, 15), OFF_BLOCK)
    for group, value in enumerate(BLOCK_VALUES):
        block = np.ix_(row_groups == group, column_groups == group)
        response[block] = value * rng.uniform(0.9, 1.1, size=(10, 5))
    order_rows, order_columns = rng.permutation(30), rng.permutation(15)
    return response[np.ix_(order_rows, order_columns)], row_groups[order_rows], column_groups[order_columns]


def test_recovers_planted_blocks_and_is_deterministic() -> None:
    response, row_groups, column_groups = planted_response()
    result = cocluster(response, n_clusters=3, mode="positive", seed=1)
    # one label per planted group, and token group g shares its label with unit group g
    label_of_group = {group: result.row_labels[row_groups == group][0] for group in range(3)}
    assert len(set(label_of_group.values())) == 3
    np.testing.assert_array_equal(result.row_labels, [label_of_group[g] for g in row_groups])
    np.testing.assert_array_equal(result.column_labels, [label_of_group[g] for g in column_groups])

    again = cocluster(response, n_clusters=3, mode="positive", seed=1)
    np.testing.assert_array_equal(again.row_labels, result.row_labels)
    np.testing.assert_array_equal(again.column_labels, result.column_labels)


def test_edges_are_block_means_of_raw_response() -> None:
    response, row_groups, column_groups = planted_response()
    result = cocluster(response, n_clusters=3, mode="positive", seed=1)
    for word_group in range(3):
        for unit_group in range(3):
            i = result.row_labels[row_groups == word_group][0]
            j = result.column_labels[column_groups == unit_group][0]
            block = response[np.ix_(row_groups == word_group, column_groups == unit_group)]
            assert result.edges[i, j] == pytest.approx(block.mean())
            if word_group != unit_group:
                assert result.edges[i, j] == pytest.approx(OFF_BLOCK)  # the raw signed value, not max(s, 0)


def test_negative_mode_and_all_zero_lines() -> None:
    response, row_groups, _ = planted_response()
    # negated planted blocks: "negative" mode sees the same structure
    result = cocluster(-response, n_clusters=3, mode="negative", seed=1)
    assert len(set(result.row_labels)) == 3
    # a token (or unit) whose responses are all -1 is all zero under "positive" and, being the
    # global minimum, under "raw"; SpectralCoclustering alone fails on such rows and columns
    for axis in (0, 1):
        lined = response.copy()
        if axis == 0:
            lined[0, :] = -1.0
        else:
            lined[:, 0] = -1.0
        for mode in ("positive", "raw"):
            result = cocluster(lined, n_clusters=3, mode=mode, seed=1)
            assert set(result.row_labels) <= {0, 1, 2} and set(result.column_labels) <= {0, 1, 2}
            # the planted groups outside the zero line are still recovered
            labels = result.row_labels if axis == 0 else result.column_labels
            assert len(set(labels[1:])) == 3


def test_bad_arguments() -> None:
    response, _, _ = planted_response()
    with pytest.raises(ValueError, match="allowed: \\['absolute', 'negative', 'positive', 'raw'\\]"):
        cocluster(response, 3, "squared", 0)
    with pytest.raises(ValueError, match="min\\(30, 15\\)"):
        cocluster(response, 16, "positive", 0)
    with pytest.raises(ValueError, match="n_clusters=1"):
        cocluster(response, 1, "positive", 0)
    with pytest.raises(ValueError, match="every response zero"):
        cocluster(-np.abs(response), 3, "positive", 0)


def test_cluster_tables() -> None:
    response, _, _ = planted_response()
    result = cocluster(response, n_clusters=3, mode="positive", seed=1)
    tokens = pd.Series([f"t{i}" for i in range(30)])
    words, units, edges = cluster_tables(tokens, result)
    assert words.columns.tolist() == ["token", "cluster"] and words["token"].tolist() == tokens.tolist()
    assert units["unit"].tolist() == list(range(15))
    assert units["cluster"].tolist() == result.column_labels.tolist()
    assert edges.columns.tolist() == ["word_cluster", "unit_cluster", "strength", "words", "units"]
    sizes = edges.drop_duplicates("word_cluster").set_index("word_cluster")["words"]
    assert sizes.to_dict() == words["cluster"].value_counts().to_dict()
    assert len(edges) == 9
    row = edges[(edges["word_cluster"] == 2) & (edges["unit_cluster"] == 0)]
    assert row["strength"].item() == pytest.approx(result.edges[2, 0])


def test_run_coclustering_reads_most_frequent_tokens(tmp_path: Path) -> None:
    response, _, _ = planted_response()
    columns = {"token": [f"t{i}" for i in range(30)], "token_id": np.arange(30), "count": np.arange(30, 0, -1)}
    columns.update({f"u{unit}": response[:, unit] for unit in range(15)})
    pq.write_table(pa.table(columns), tmp_path / "responses.parquet")
    outputs = {name: tmp_path / "out" / name for name in ("words.csv", "units.csv", "edges.csv", "plot.png")}
    run_coclustering(
        tmp_path / "responses.parquet",
        n_clusters=3,
        mode="absolute",
        seed=0,
        max_tokens=20,
        words_csv=outputs["words.csv"],
        units_csv=outputs["units.csv"],
        edges_csv=outputs["edges.csv"],
        plot_png=outputs["plot.png"],
        title="planted",
    )
    words = pd.read_csv(outputs["words.csv"])
    assert words["token"].tolist() == [f"t{i}" for i in range(20)]
    expected = cocluster(response[:20], 3, "absolute", 0)
    assert words["cluster"].tolist() == expected.row_labels.tolist()
    assert len(pd.read_csv(outputs["units.csv"])) == 15
    assert outputs["plot.png"].stat().st_size > 0
    assert outputs["plot.png"].with_suffix(".svg").stat().st_size > 0


def test_display_token_escapes_whitespace() -> None:
    from rnnscope.text import display_token

    assert [display_token(t) for t in [" ", "\n", "\t", "a", "é"]] == ["␣", "\\n", "\\t", "a", "é"]
