"""States of a sentence classifier (the Yelp sentiment GRU) for RNNVis's views.

The classifier reads every sentence alone from the zero state, as it was trained, so its states
file (rnnscope.states) holds one ``sequence`` per sentence of the split and the expected
response's Δh at a sentence's first word is h_1 − 0. The cluster and rnnvis stages then read it
like a language model's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from rnnscope.extract import chunk_states, layer_modules, resolve_kinds
from rnnscope.models import load_model
from rnnscope.sentiment import encode_sentences, read_split
from rnnscope.states import StatesInfo, StatesWriter
from rnnscope.text import load_vocab

log = logging.getLogger(__name__)


@torch.no_grad()
def extract_sentence_states(
    checkpoint: str | Path,
    split_tsv: str | Path,
    vocab_path: str | Path,
    out_path: str | Path,
    model_name: str,
    kinds: Sequence[str] | str = "all",
    max_tokens: int = 0,
    threads: int = 1,
    rows_per_write: int = 16384,
) -> int:
    """Write a classifier's states over the split's sentences in file order, each from the zero
    state, whole sentences up to ``max_tokens`` tokens (0: all). Returns the number of rows."""
    torch.set_num_threads(threads)
    model, _ = load_model(checkpoint)
    config = model.config
    if not config.classes:
        raise ValueError(f"{checkpoint} holds a language model; its states come from rnnscope.extract")
    kinds = resolve_kinds(config.cell, kinds)
    vocab = load_vocab(vocab_path)
    encoded, _ = encode_sentences(read_split(split_tsv)["text"].tolist(), vocab)
    modules = layer_modules(model)
    names = np.asarray(vocab, dtype=object)
    written, sentences, pending, pending_rows = 0, 0, [], 0
    with StatesWriter(out_path, StatesInfo(model_name, config.cell, config.layers, config.hidden, kinds)) as writer:
        for sequence, ids in enumerate(encoded):
            if max_tokens and written + pending_rows + len(ids) > max_tokens:
                break
            columns, top = chunk_states(model, modules, ids, [None] * config.layers, kinds)
            pending.append((sequence, ids.numpy(), columns, model.decoder(top).argmax(-1).numpy()))
            pending_rows += len(ids)
            sentences += 1
            if pending_rows >= rows_per_write:
                written += _write_sentences(writer, pending, written, names)
                pending, pending_rows = [], 0
        written += _write_sentences(writer, pending, written, names)
        if written == 0:
            raise ValueError(f"max_tokens={max_tokens} is shorter than the first sentence of {split_tsv}; raise it")
    log.info("wrote %d rows (%d sentences) of %s states to %s", written, sentences, ",".join(kinds), out_path)
    return written


def _write_sentences(writer: StatesWriter, sentences: list, start: int, names: np.ndarray) -> int:
    """One batch of rows from (sequence, ids, state columns, predicted class per step) per sentence."""
    if not sentences:
        return 0
    ids = np.concatenate([item[1] for item in sentences])
    tokens = {
        "position": np.arange(start, start + len(ids), dtype=np.int64),
        "sequence": np.concatenate([np.full(len(item[1]), item[0], dtype=np.int32) for item in sentences]),
        "token_id": ids.astype(np.int32),
        "token": names[ids],
        "next_token_id": np.concatenate([np.r_[item[1][1:], -1] for item in sentences]).astype(np.int32),
        "logprob_next": np.full(len(ids), np.nan, dtype=np.float32),  # a classifier predicts no tokens
        "pred_id": np.concatenate([item[3] for item in sentences]).astype(np.int32),
    }
    writer.write(tokens, {name: np.concatenate([item[2][name] for item in sentences]) for name in sentences[0][2]})
    return len(ids)
