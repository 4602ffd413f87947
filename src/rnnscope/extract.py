"""Per-token hidden states of every layer, streamed to Parquet in bounded memory.

The stream is read as one sequence from a zero state, in chunks of ``chunk_len`` tokens whose
final state carries into the next chunk; or, for generated text (``segment_len``), as
independent segments of that many tokens, each from a zero state. Each layer runs as its own
fused single-layer module (sharing the trained weights), which yields every layer's h at fused
speed; LSTM cell states and the gates of LSTM and GRU are then recomputed from (x_t, h_{t-1}) in
one batched matmul per chunk (only when a kind other than h is asked for), with the LSTM cell
state from an elementwise scan run in blocks.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnscope.models import RNNModel, load_model, resolve_device
from rnnscope.sampling import Sampling, sampled_positions
from rnnscope.states import STATE_KINDS, StatesInfo, StatesWriter, state_column
from rnnscope.text import iter_encoded_chunks, load_level, load_vocab

log = logging.getLogger(__name__)


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def pin_mmap_threshold(threshold: int = 1 << 16) -> None:
    """Serve large buffers by mmap so freed chunk buffers go back to the OS.

    glibc raises its mmap threshold dynamically after large frees; chunk-sized tensors then
    come from the heap, which fragments and makes peak RSS creep up with corpus length (measured:
    +1 MB per 4k-token chunk for a 2x128 LSTM). A fixed threshold keeps it flat. No-op off glibc.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, threshold)


def layer_modules(model: RNNModel) -> list[nn.Module]:
    """Single-layer fused modules, one per layer of ``model.rnn``, sharing its weight tensors (eval mode)."""
    rnn = model.rnn
    modules = []
    for layer in range(rnn.num_layers):
        input_size = rnn.input_size if layer == 0 else rnn.hidden_size
        kwargs = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
        # On the meta device, so no random initialisation is computed only to be overwritten.
        single = type(rnn)(input_size, rnn.hidden_size, num_layers=1, batch_first=True, device="meta", **kwargs)
        single.load_state_dict(
            {
                f"{name}_l0": getattr(rnn, f"{name}_l{layer}")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            },
            assign=True,
        )
        modules.append(single.eval())
    return modules


def scan_cell_states(forget: torch.Tensor, update: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """c_t = forget_t * c_{t-1} + update_t for every step t of (T, H) inputs, from c_{-1} = c0.

    A step-by-step loop costs T Python iterations (measured 80 ms per 4096 steps of 650 units).
    Here the steps are cut into blocks of about sqrt(T): the recurrence runs inside all blocks at
    once from a zero start, then one step per block carries each block's true start, and
    c = local + (running product of forget inside the block) * start: about 2 sqrt(T) iterations
    (11 ms), and only products and sums of the gates (no division), so as accurate as the loop.
    """
    steps, hidden = update.shape
    block = math.isqrt(steps - 1) + 1  # ceil(sqrt(steps))
    blocks = -(-steps // block)
    padding = (0, 0, 0, blocks * block - steps)  # padded steps keep c unchanged and are dropped
    forget = nn.functional.pad(forget, padding, value=1.0).view(blocks, block, hidden)
    local = nn.functional.pad(update, padding).view(blocks, block, hidden).clone()
    for t in range(1, block):
        local[:, t].addcmul_(forget[:, t], local[:, t - 1])
    decay = forget.cumprod(dim=1)
    starts = torch.empty(blocks, 1, hidden, dtype=update.dtype, device=update.device)
    start = c0
    for index in range(blocks):
        starts[index, 0] = start
        start = torch.addcmul(local[index, -1], decay[index, -1], start)
    return torch.addcmul(local, decay, starts).view(-1, hidden)[:steps]


def _layer_weights(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(weight_ih, weight_hh, bias_ih, bias_hh) of a single-layer fused RNN module."""
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    weight_ih, weight_hh, bias_ih, bias_hh = (module.get_parameter(name) for name in names)
    return weight_ih, weight_hh, bias_ih, bias_hh


def lstm_internals(
    module: nn.Module, inputs: torch.Tensor, outputs: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Gates i, f, g, o and cell state c for every step, from inputs (T, in) and outputs h (T, H)
    of a single-layer ``nn.LSTM``."""
    weight_ih, weight_hh, bias_ih, bias_hh = _layer_weights(module)
    h_prev = torch.cat([h0[None], outputs[:-1]])
    pre = torch.addmm(bias_ih + bias_hh, inputs, weight_ih.T)
    pre.addmm_(h_prev, weight_hh.T)
    i, f, g, o = pre.chunk(4, dim=1)
    # In place on views of ``pre``: four fewer (T, H) buffers to allocate and write.
    i.sigmoid_(), f.sigmoid_(), g.tanh_(), o.sigmoid_()
    return {"i": i, "f": f, "g": g, "o": o, "c": scan_cell_states(f, i * g, c0)}


def gru_internals(
    module: nn.Module, inputs: torch.Tensor, outputs: torch.Tensor, h0: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Gates r, z and candidate n for every step (PyTorch's GRU equations) of a single-layer ``nn.GRU``."""
    weight_ih, weight_hh, bias_ih, bias_hh = _layer_weights(module)
    h_prev = torch.cat([h0[None], outputs[:-1]])
    x_part = inputs @ weight_ih.T + bias_ih
    h_part = h_prev @ weight_hh.T + bias_hh
    x_r, x_z, x_n = x_part.chunk(3, dim=1)
    h_r, h_z, h_n = h_part.chunk(3, dim=1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return {"r": r, "z": z, "n": n}


def resolve_kinds(cell: str, kinds: Sequence[str] | str) -> tuple[str, ...]:
    """``"all"`` or a list; kinds a cell does not have are an error naming those it has."""
    available = STATE_KINDS[cell]
    if kinds == "all":
        return available
    unknown = [kind for kind in kinds if kind not in available]
    if unknown:
        raise ValueError(f"state kind(s) {unknown} do not exist for cell {cell!r}; it has {list(available)}")
    return tuple(kind for kind in available if kind in kinds)


@torch.no_grad()
def stream_states(
    model: RNNModel, modules: Sequence[nn.Module], tokens: torch.Tensor, state: list, kinds: Sequence[str]
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """States ``l{layer}_{kind}`` (S, T, H) of every layer for S streams of token ids (S, T), run
    as one batch, and the top layer's h (S, T, H): the one forward pass behind
    :func:`chunk_states` (extraction, glyphs) and :func:`rnnscope.neurons.run_states` (ablations).

    ``modules`` are :func:`layer_modules` of the model. ``state`` holds each layer's carried state
    (None: the zero initial state) and is updated in place to the state after the last token, so
    consecutive calls continue the streams. h comes from the fused layer; c and the gates (they
    cost about a second forward pass: only when asked for) are recomputed from it per stream.
    """
    hidden = model.config.hidden
    cell = model.config.cell
    streams = tokens.shape[0]
    recompute = cell in ("lstm", "gru") and bool(set(kinds) - {"h"})
    columns: dict[str, torch.Tensor] = {}
    x = model.embed(tokens)
    for layer, module in enumerate(modules):
        outputs, new_state = module(x, state[layer])
        if state[layer] is None:  # zero initial state, shaped (num_layers=1, batch=streams, hidden)
            zeros = outputs.new_zeros(1, streams, hidden)
            state[layer] = (zeros, zeros) if cell == "lstm" else zeros
        internals: dict[str, torch.Tensor] = {}
        if recompute:
            per_stream = [
                lstm_internals(module, x[s], outputs[s], state[layer][0][0, s], state[layer][1][0, s])
                if cell == "lstm"
                else gru_internals(module, x[s], outputs[s], state[layer][0, s])
                for s in range(streams)
            ]
            if streams == 1:  # a view, not a copy: extraction's chunks are one stream
                internals = {kind: values[None] for kind, values in per_stream[0].items()}
            else:
                internals = {kind: torch.stack([part[kind] for part in per_stream]) for kind in per_stream[0]}
        internals["h"] = outputs
        for kind in kinds:
            if kind not in internals:
                raise ValueError(f"state kind {kind!r} does not exist for cell {cell!r}")
            columns[state_column(layer, kind)] = internals[kind]
        state[layer] = new_state
        x = outputs
    return columns, x


@torch.no_grad()
def chunk_states(
    model: RNNModel, modules: Sequence[nn.Module], ids: torch.Tensor, state: list, kinds: Sequence[str]
) -> tuple[dict[str, np.ndarray], torch.Tensor]:
    """States ``l{layer}_{kind}`` (T, H) of every layer for token ids (T,), and the top layer's h:
    :func:`stream_states` of one stream.

    ``state`` holds each layer's carried state (None: the zero initial state) and is updated in
    place to the state after the last token, so consecutive calls continue one stream.
    """
    columns, top = stream_states(model, modules, ids[None], state, kinds)
    return {column: values[0].cpu().numpy() for column, values in columns.items()}, top[0]


@torch.no_grad()
def extract_states(
    checkpoint: str | Path,
    text_path: str | Path,
    vocab_path: str | Path,
    out_path: str | Path,
    model_name: str,
    kinds: Sequence[str] | str = "all",
    max_tokens: int = 0,
    chunk_len: int = 4096,
    threads: int = 1,
    device: str = "cpu",
    sampling: Sampling = "prefix",
    skip: int = 0,
    seed: int = 0,
    segment_len: int = 0,
    streams: int = 1,
    stream_warmup: int = 0,
) -> int:
    """Write the states of every layer at the split's positions :func:`sampled_positions` keeps
    (``max_tokens``, ``sampling``, ``skip``, ``seed``): with ``prefix`` the first ``max_tokens``
    tokens (all if 0), with ``spread`` ``max_tokens`` positions spread over the whole split.

    ``prefix`` reads the split as one stream from a zero state. ``spread`` with ``streams`` 1 does
    too, through the chunk holding its last kept position, so a kept row holds the state of an
    uninterrupted run. With ``streams`` S > 1 the split is cut into S equal parts run side by side
    as one batch (a CPU runs a batch of 64 about as fast as one stream), each part read from a zero
    state ``stream_warmup`` tokens before its start: a kept row then holds the state after at least
    that many tokens of real context instead of the whole split before it. (See
    :func:`_spread_stream_rows`.) Memory follows ``chunk_len`` and ``max_tokens``, not the split. ``device`` is ``cpu``, ``cuda`` or ``auto`` (CUDA when torch sees a GPU); each
    chunk's states come back to the CPU for writing. Returns the number of rows written.

    ``segment_len`` > 0: the text is independent segments of that many tokens (the samples of
    :mod:`rnnscope.generate`), each read whole from a zero state as it was sampled; a segment's
    last row has no next token (its sample ended there).
    """
    if segment_len and max_tokens:
        raise ValueError("extract_states reads whole segments: give segment_len or max_tokens, not both")
    if segment_len:
        chunk_len = segment_len
    torch.set_num_threads(threads)
    pin_mmap_threshold()
    model, _ = load_model(checkpoint)
    target = resolve_device(device, "extract.device")
    model.to(target)
    config = model.config
    kinds = resolve_kinds(config.cell, kinds)
    vocab = load_vocab(vocab_path)
    level = load_level(vocab_path)
    token_names = np.asarray(vocab, dtype=object)
    modules = layer_modules(model)
    info = StatesInfo(model_name, config.cell, config.layers, config.hidden, kinds)
    state: list = [None] * config.layers
    if sampling == "spread" and max_tokens and streams > 1:
        return _write_spread_streams(
            model,
            modules,
            info,
            vocab,
            level,
            text_path,
            out_path,
            kinds,
            max_tokens,
            skip,
            seed,
            chunk_len,
            streams,
            stream_warmup,
            target,
        )
    if sampling == "spread" and max_tokens:
        n_tokens = sum(len(chunk) for chunk in iter_encoded_chunks(text_path, vocab, chunk_len, 0, level))
        kept = _spread_positions(text_path, n_tokens, max_tokens, skip, seed)
        # Whole chunks up to the one holding the last kept position: the same chunks as a run
        # over the whole split, so the kept states are that run's bit for bit.
        cap, stop = 0, int(kept[-1]) + 1
    else:
        kept, cap, stop = None, max_tokens, max_tokens  # every position of the first max_tokens (0: all)
    total = written = 0
    # One token past the cap is read so the last row still knows its next token.
    chunks = iter_encoded_chunks(text_path, vocab, chunk_len, cap + 1 if cap else 0, level)
    # One chunk of look-ahead gives the next token of each chunk's last row.
    chunk, following = next(chunks, None), next(chunks, None)
    if chunk is None or (len(chunk) < 2 and following is None):
        raise ValueError(f"{text_path} has fewer than 2 tokens; extraction needs at least 2")
    with StatesWriter(out_path, info) as writer:
        while chunk is not None:
            if cap and total + len(chunk) > cap:
                chunk, following = chunk[: cap - total], chunk[cap - total :]
            if segment_len:
                if len(chunk) != segment_len:
                    raise ValueError(f"{text_path} ends in a segment of {len(chunk)} tokens, not {segment_len}")
                state = [None] * config.layers
            columns, top = chunk_states(model, modules, torch.from_numpy(chunk).to(target), state, kinds)
            if kept is None:
                rows = np.arange(len(chunk))
            else:
                first, last = np.searchsorted(kept, [total, total + len(chunk)])
                rows = kept[first:last] - total
            following_id = following[:1] if following is not None and not segment_len else np.empty(0, dtype=np.int64)
            next_ids = np.concatenate([chunk[1:], following_id]).astype(np.int64)
            if len(rows):
                writer.write(
                    _token_columns(model, top, chunk, next_ids, rows, total, token_names),
                    {name: values[rows] for name, values in columns.items()},
                )
                written += len(rows)
            total += len(chunk)
            if stop and total >= stop:
                break
            chunk, following = following, next(chunks, None)
    log.info(
        "wrote %d rows (%s sampling, of %d tokens read) of %s states to %s",
        written,
        sampling,
        total,
        ",".join(kinds),
        out_path,
    )
    return written


def _spread_positions(text_path: str | Path, n_tokens: int, max_tokens: int, skip: int, seed: int) -> np.ndarray:
    kept = sampled_positions(n_tokens, max_tokens, "spread", skip, seed)
    if not len(kept):
        raise ValueError(
            f"{text_path} has {n_tokens} tokens, none after the first {skip} (probe.warmup_tokens) to sample"
        )
    return kept


def stream_layout(n_tokens: int, streams: int, warmup: int) -> tuple[int, int, np.ndarray]:
    """How :func:`extract_states` cuts a split of ``n_tokens`` tokens into side-by-side streams:
    (streams used, part length L, first position each stream reads).

    Stream p's own part is positions [p L, (p + 1) L); it starts reading ``warmup`` tokens before
    (stream 0 and any part closer to the start read from position 0) and reads L + ``warmup``
    tokens, all streams the same number so they run as one batch. Fewer streams than asked are
    used when parts would be shorter than the warm-up (the extra reading would outgrow the
    split); one stream is the uninterrupted run."""
    if streams < 1 or warmup < 0:
        raise ValueError(f"streams must be >= 1 and stream_warmup >= 0, got {streams} and {warmup}")
    used = max(1, min(streams, n_tokens // warmup if warmup else streams, n_tokens))
    part = math.ceil(n_tokens / used)
    starts = np.maximum(np.arange(used, dtype=np.int64) * part - warmup, 0)
    return used, part, starts


def _write_spread_streams(
    model: RNNModel,
    modules: Sequence[nn.Module],
    info: StatesInfo,
    vocab: list[str],
    level: str,
    text_path: str | Path,
    out_path: str | Path,
    kinds: Sequence[str],
    max_tokens: int,
    skip: int,
    seed: int,
    chunk_len: int,
    streams: int,
    warmup: int,
    device: torch.device,
) -> int:
    """:func:`extract_states`'s spread sampling over side-by-side streams (see
    :func:`stream_layout`). The split's token ids go to a temporary file beside the output (a
    stream reads its part from there), so memory does not follow the split; the kept rows are
    held until the streams end and written in position order (memory follows ``max_tokens``)."""
    token_names = np.asarray(vocab, dtype=object)
    with tempfile.NamedTemporaryFile(dir=Path(out_path).parent, suffix=".ids.partial") as ids_file:
        n_tokens = 0
        for chunk in iter_encoded_chunks(text_path, vocab, chunk_len, 0, level):
            ids_file.write(chunk.astype(np.int32).tobytes())
            n_tokens += len(chunk)
        ids_file.flush()
        kept = _spread_positions(text_path, n_tokens, max_tokens, skip, seed)
        ids = np.memmap(ids_file.name, dtype=np.int32, mode="r", shape=(n_tokens,))
        used, part, starts = stream_layout(n_tokens, streams, warmup)
        length = part + int(np.max(np.arange(used) * part - starts))  # own part plus the longest warm-up
        held: list[list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]] = [[] for _ in range(used)]
        state: list = [None] * len(modules)
        for offset in range(0, length, chunk_len):
            width = min(chunk_len, length - offset)
            window = np.zeros((used, width), dtype=np.int64)  # past the split's end: padding, never kept
            for p, start in enumerate(starts + offset):
                piece = ids[start : min(start + width, n_tokens)]
                window[p, : len(piece)] = piece
            columns, top = stream_states(model, modules, torch.from_numpy(window).to(device), state, kinds)
            for p, start in enumerate(starts + offset):
                own_first, own_end = p * part, min((p + 1) * part, n_tokens)
                first, last = np.searchsorted(kept, [max(own_first, start), min(own_end, start + width)])
                rows = kept[first:last] - start
                if not len(rows):
                    continue
                next_ids = np.asarray(ids[start + 1 : min(start + width + 1, n_tokens)], dtype=np.int64)
                tokens = _token_columns(model, top[p], window[p], next_ids, rows, int(start), token_names)
                held[p].append((tokens, {name: values[p, rows].cpu().numpy() for name, values in columns.items()}))
        written = 0
        with StatesWriter(out_path, info) as writer:
            for stream_rows in held:
                for tokens, states in stream_rows:
                    writer.write(tokens, states)
                    written += len(tokens["position"])
    log.info(
        "wrote %d rows (spread sampling, %d streams of %d tokens, %d of warm-up, over %d tokens) of %s states to %s",
        written,
        used,
        length,
        warmup,
        n_tokens,
        ",".join(kinds),
        out_path,
    )
    return written


def _token_columns(
    model: RNNModel,
    top: torch.Tensor,
    chunk: np.ndarray,
    next_ids: np.ndarray,
    rows: np.ndarray,
    start: int,
    token_names: np.ndarray,
) -> dict[str, np.ndarray]:
    """The per-token columns of the kept ``rows`` of a chunk starting at position ``start``; the
    decoder runs on those rows only. ``next_ids`` lacks the last row's entry at the split's end."""
    log_probs = torch.log_softmax(model.decoder(top[torch.from_numpy(rows).to(top.device)]), dim=-1).cpu()
    has_next = rows < len(next_ids)
    next_column = np.full(len(rows), -1, dtype=np.int32)
    next_column[has_next] = next_ids[rows[has_next]]
    logprob_next = np.full(len(rows), np.nan, dtype=np.float32)
    logprob_next[has_next] = log_probs[
        torch.from_numpy(np.flatnonzero(has_next)), torch.from_numpy(next_column[has_next].astype(np.int64))
    ].numpy()
    return {
        "position": (start + rows).astype(np.int64),
        "token_id": chunk[rows].astype(np.int32),
        "token": token_names[chunk[rows]],
        "next_token_id": next_column,
        "logprob_next": logprob_next,
        "pred_id": log_probs.argmax(-1).numpy().astype(np.int32),
    }
