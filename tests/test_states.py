"""The pipeline's own Parquet files, read back: a damaged file names itself and the fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import write_states
from rnnscope.labels import HypothesisKind, read_labels, write_labels
from rnnscope.responses import expected_response
from rnnscope.states import (
    DamagedParquetError,
    read_info,
    read_matrices,
    read_matrix_rows,
    read_table,
    read_tokens,
)

STATE_READERS: dict[str, Callable[[Path], object]] = {
    "read_info": read_info,
    "read_tokens": read_tokens,
    "read_table": lambda path: read_table(path, columns=["token_id"]),
    "read_matrices": lambda path: read_matrices(path, ["l0_h"]),
    "read_matrix_rows": lambda path: read_matrix_rows(path, "l0_h", np.arange(3)),
    "expected_response": lambda path: expected_response(path, "l0_h", min_count=1),
}


def states_file(folder: Path) -> Path:
    path = folder / "results" / "states" / "m" / "test.parquet"
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    write_states(path, rng.integers(0, 5, 400), rng.standard_normal((400, 8)).astype(np.float32), row_group_size=50)
    return path


def damage_message(path: Path) -> str:
    return rf"^{re.escape(str(path))} is damaged \(.+\): recreate it with `snakemake -f {re.escape(str(path))}`$"


@pytest.mark.parametrize("reader", STATE_READERS, ids=str)
def test_a_states_file_cut_in_half_names_itself_and_the_fix(tmp_path: Path, reader: str) -> None:
    path = states_file(tmp_path)
    STATE_READERS[reader](path)  # whole, it reads
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DamagedParquetError, match=damage_message(path)) as raised:
        STATE_READERS[reader](path)
    assert "Parquet magic bytes not found in footer" in str(raised.value)  # pyarrow's words kept inside


def test_damage_inside_a_row_group_is_reported_too(tmp_path: Path) -> None:
    path = states_file(tmp_path)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2  # in the data pages: the footer still opens
    data[middle - 200 : middle + 200] = bytes(400)
    path.write_bytes(bytes(data))
    read_info(path)
    with pytest.raises(DamagedParquetError, match=damage_message(path)):
        read_matrices(path, ["l0_h"])


def test_a_labels_file_cut_short_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    kinds: dict[str, HypothesisKind] = {"noun": "binary"}
    write_labels(pd.DataFrame({"position": np.arange(100), "noun": [True, False] * 50}), kinds, path)
    assert read_labels(path)[1] == kinds
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DamagedParquetError, match=damage_message(path)):
        read_labels(path)


def test_a_missing_file_or_column_is_not_called_damage(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_tokens(tmp_path / "absent.parquet")
    path = states_file(tmp_path)
    with pytest.raises(KeyError, match=r"has no column \['l1_h'\]"):
        read_table(path, columns=["l1_h"])
