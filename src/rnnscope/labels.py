"""The hypothesis-labels Parquet format, aligned row by row with the states files.

One file per (dataset, split): column ``position`` (int64, the token's index in the split's
stream, equal to the states file's ``position``) and one column per hypothesis. A null marks a
token where the hypothesis is undefined (for example count remaining before it is determined);
probes drop those rows. The key-value metadata ``rnnscope_hypotheses`` maps each hypothesis to
its kind: ``binary`` (bool), ``categorical`` (string) or ``continuous`` (float64).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rnnscope.artifacts import write_atomically
from rnnscope.states import read_schema, read_table

HypothesisKind = Literal["binary", "categorical", "continuous"]
METADATA_KEY = b"rnnscope_hypotheses"
ARROW_TYPES: dict[str, pa.DataType] = {
    "binary": pa.bool_(),
    "categorical": pa.string(),
    "continuous": pa.float64(),
}


def write_labels(frame: pd.DataFrame, kinds: dict[str, HypothesisKind], path: str | Path) -> None:
    """Write ``frame`` (``position`` + one column per hypothesis in ``kinds``) atomically."""
    unknown = set(kinds.values()) - set(ARROW_TYPES)
    if unknown:
        raise ValueError(f"unknown hypothesis kind(s) {sorted(unknown)}; allowed: {sorted(ARROW_TYPES)}")
    fields = [pa.field("position", pa.int64())]
    fields += [pa.field(name, ARROW_TYPES[kind]) for name, kind in kinds.items()]
    schema = pa.schema(fields, metadata={METADATA_KEY: json.dumps(kinds).encode()})
    table = pa.Table.from_pandas(frame[["position", *kinds]], schema=schema, preserve_index=False)
    write_atomically(path, lambda partial: pq.write_table(table, partial, compression="zstd"))


def read_kinds(path: str | Path) -> dict[str, HypothesisKind]:
    return json.loads(read_schema(path).metadata[METADATA_KEY])


def read_labels(path: str | Path) -> tuple[pd.DataFrame, dict[str, HypothesisKind]]:
    """The labels as a DataFrame (nullable dtypes) and each hypothesis's kind."""
    return read_table(path).to_pandas(), read_kinds(path)
