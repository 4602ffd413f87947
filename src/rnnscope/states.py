"""The hidden-states Parquet format: one file per (model, split), written in row groups.

Schema (one row per token of the split's token stream, in order):

- ``position`` int64: index of the token in the split's stream (0-based).
- ``sequence`` int32: which sequence the row belongs to; each sequence is read from the zero
  state. A language model reads its split as one stream (all 0); a sentiment classifier reads
  each sentence alone (the sentence's index in its split).
- ``token_id`` int32, ``token`` string: the input token at this step.
- ``next_token_id`` int32: the token that follows (-1 after the last token).
- ``logprob_next`` float32: log p(next token | prefix) in nats under the model (NaN at the end).
- ``pred_id`` int32: the model's argmax prediction of the next token.

For a classifier (``ModelConfig.classes`` > 0) ``next_token_id`` is the next word of the same
sentence (-1 at its end), ``logprob_next`` is NaN (it predicts no tokens) and ``pred_id`` is the
class its decoder reads from the state after this token.
- ``l{layer}_{kind}`` fixed_size_list<float32>[hidden]: the state of layer ``layer`` (0-based)
  after reading the token. Kinds: ``h`` for every cell; ``c`` (cell state) and the gates
  ``i``, ``f``, ``g``, ``o`` for LSTM; the gates ``r``, ``z``, ``n`` for GRU.

The file's key-value metadata ``rnnscope`` holds JSON with model, cell, layers, hidden and kinds.

Every Parquet file the pipeline writes (states, labels, responses, bands) is read back through
``open_parquet``, ``read_table`` or ``read_schema`` here, or inside ``reading_parquet``: a file cut
short or overwritten raises ``DamagedParquetError`` naming the file and the command that
recreates it, instead of pyarrow's bare "Parquet magic bytes not found in footer".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rnnscope.artifacts import partial_path

# State kinds that extraction can write per cell .
STATE_KINDS = {
    "srn": ("h",),
    "rnn_tanh": ("h",),
    "gru": ("h", "r", "z", "n"),
    "lstm": ("h", "c", "i", "f", "g", "o"),
}

# "<model>_untrained" names the untrained baseline of config model <model> (its states and probes).
UNTRAINED_SUFFIX = "_untrained"

TOKEN_COLUMNS = ("position", "sequence", "token_id", "token", "next_token_id", "logprob_next", "pred_id")
METADATA_KEY = b"rnnscope"


class DamagedParquetError(ValueError):
    """A Parquet file of the pipeline's own cannot be read: cut short, overwritten, or not Parquet."""


@contextmanager
def reading_parquet(path: str | Path) -> Iterator[None]:
    """Inside, pyarrow's errors about the bytes of ``path`` become a ``DamagedParquetError`` that
    names the file and how to recreate it. A missing or unreadable file is not damage: its
    FileNotFoundError or PermissionError passes through. Keep the block to reading ``path``."""
    try:
        yield
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except (pa.ArrowException, OSError) as error:
        raise DamagedParquetError(f"{path} is damaged ({error}): recreate it with `snakemake -f {path}`") from error


def open_parquet(path: str | Path) -> pq.ParquetFile:
    """``pq.ParquetFile(path)``, with a damaged file reported as ``DamagedParquetError``. Wrap
    later reads of its row groups in ``reading_parquet(path)``."""
    with reading_parquet(path):
        return pq.ParquetFile(path)


def read_schema(path: str | Path) -> pa.Schema:
    """The Arrow schema (with key-value metadata) of ``path``; damage reported as in ``open_parquet``."""
    with reading_parquet(path):
        return pq.read_schema(path)


def read_table(path: str | Path, columns: Sequence[str] | None = None) -> pa.Table:
    """``columns`` (all when None) of ``path`` as a table; a column the file lacks is a KeyError
    naming the file and its columns, damage a ``DamagedParquetError``."""
    if columns is not None:
        names = read_schema(path).names
        missing = [name for name in columns if name not in names]
        if missing:
            raise KeyError(f"{path} has no column {missing}; its columns: {names}")
    with reading_parquet(path):
        return pq.read_table(path, columns=None if columns is None else list(columns))


def state_column(layer: int, kind: str) -> str:
    """Name of the column holding ``kind`` states of ``layer``."""
    return f"l{layer}_{kind}"


def parse_state_column(name: str) -> tuple[int, str]:
    """The (layer, kind) of a state column name ``l{layer}_{kind}``; inverse of ``state_column``."""
    layer, separator, kind = name.removeprefix("l").partition("_")
    if not name.startswith("l") or not separator or not layer.isdigit() or not kind:
        raise ValueError(f"{name!r} is not a state column; expected 'l{{layer}}_{{kind}}' such as 'l0_h'")
    return int(layer), kind


@dataclass(frozen=True)
class StatesInfo:
    """What a states file holds, read from its metadata."""

    model: str
    cell: str
    layers: int
    hidden: int
    kinds: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return [state_column(layer, kind) for layer in range(self.layers) for kind in self.kinds]


def states_schema(info: StatesInfo) -> pa.Schema:
    fields = [
        pa.field("position", pa.int64()),
        pa.field("sequence", pa.int32()),
        pa.field("token_id", pa.int32()),
        pa.field("token", pa.string()),
        pa.field("next_token_id", pa.int32()),
        pa.field("logprob_next", pa.float32()),
        pa.field("pred_id", pa.int32()),
    ]
    fields += [pa.field(name, pa.list_(pa.float32(), info.hidden)) for name in info.columns]
    meta = {
        "model": info.model,
        "cell": info.cell,
        "layers": info.layers,
        "hidden": info.hidden,
        "kinds": list(info.kinds),
    }
    return pa.schema(fields, metadata={METADATA_KEY: json.dumps(meta).encode()})


def read_info(path: str | Path) -> StatesInfo:
    meta = json.loads(read_schema(path).metadata[METADATA_KEY])
    return StatesInfo(meta["model"], meta["cell"], meta["layers"], meta["hidden"], tuple(meta["kinds"]))


def fixed_list_to_numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A fixed_size_list<float32>[H] column as a (rows, H) float32 array, without a Python loop."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    width = column.type.list_size
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)


def read_matrices(path: str | Path, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Read state columns of a file as (rows, hidden) float32 matrices."""
    table = read_table(path, columns=list(columns))
    return {name: fixed_list_to_numpy(table.column(name)) for name in columns}


def read_matrix_rows(path: str | Path, column: str, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (sorted, distinct indices) of one state column as a (len(rows), hidden) float32
    matrix, read one row group at a time and only the row groups holding wanted rows: memory
    follows ``len(rows)`` and the row-group size, not the file's size. (``iter_batches`` was
    measured holding ~0.9 KB per file row of a 128-wide column: 386 MB more on a 400k-row file.)"""
    parquet = open_parquet(path)
    width = parquet.schema_arrow.field(column).type.list_size
    matrix = np.empty((len(rows), width), dtype=np.float32)
    filled, start = 0, 0
    for group in range(parquet.metadata.num_row_groups):
        end = start + parquet.metadata.row_group(group).num_rows
        stop = int(np.searchsorted(rows, end))
        if stop > filled:
            with reading_parquet(path):
                values = fixed_list_to_numpy(parquet.read_row_group(group, columns=[column]).column(0))
            matrix[filled:stop] = values[rows[filled:stop] - start]
            filled = stop
        start = end
        if filled == len(rows):
            break
    if filled < len(rows):
        raise IndexError(f"{path} has {start} rows; row {rows[filled]} was asked for")
    return matrix


def read_tokens(path: str | Path) -> pa.Table:
    """The per-token columns (no states) of a states file."""
    return read_table(path, columns=list(TOKEN_COLUMNS))


class StatesWriter:
    """Streams batches of states into a Parquet file; the file appears only when complete.

    Rows go to ``<path>.partial`` and are renamed to ``path`` on a clean close, so a killed
    extraction never leaves a file that looks finished.
    """

    def __init__(self, path: str | Path, info: StatesInfo, row_group_size: int = 16384) -> None:
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = states_schema(info)
        self.row_group_size = row_group_size
        # Dictionary pages and min/max statistics only for the per-token columns: on float state
        # vectors a dictionary always overflows and falls back, and both halved the write rate.
        token_columns = [field.name for field in self.schema if field.name not in info.columns]
        self._writer = pq.ParquetWriter(
            self.partial, self.schema, compression="zstd", use_dictionary=token_columns, write_statistics=token_columns
        )

    def write(self, tokens: dict[str, np.ndarray], states: dict[str, np.ndarray]) -> None:
        """One batch of rows; ``tokens`` without ``sequence`` continues the one stream (sequence 0)."""
        arrays: list[pa.Array] = []
        for field in self.schema:
            if field.name == "sequence" and field.name not in tokens:
                arrays.append(pa.array(np.zeros(len(tokens["position"]), dtype=np.int32)))
            elif field.name in tokens:
                arrays.append(pa.array(tokens[field.name], type=field.type))
            else:
                matrix = np.ascontiguousarray(states[field.name], dtype=np.float32)
                flat = pa.array(matrix.reshape(-1), type=pa.float32())
                arrays.append(pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1]))
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema), self.row_group_size)

    def close(self) -> None:
        self._writer.close()
        self.partial.replace(self.path)

    def abort(self) -> None:
        self._writer.close()
        self.partial.unlink(missing_ok=True)

    def __enter__(self) -> StatesWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
