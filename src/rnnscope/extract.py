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

import ctypes
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnscope.data import iter_encoded_chunks, load_level, load_vocab
from rnnscope.models import STATE_KINDS, RNNModel
from rnnscope.states import StatesInfo, StatesWriter, state_column
from rnnscope.train import load_model, resolve_device

log = logging.getLogger(__name__)


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def pin_mmap_threshold(threshold: int = 1 << 16) -> None:
    """Serve large buffers by mmap so freed chunk buffers go back to the OS.

    glibc raises its mmap threshold dynamically after large frees; chunk-sized tensors then
    come from the heap, which fragments and makes peak RSS creep up with corpus length (measured:
    +1 MB per 4k-token chunk for a 2x128 LSTM). A fixed threshold keeps it flat. No-op off glibc.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, threshold)
    except (OSError, AttributeError):
        pass


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
            {f"{name}_l0": getattr(rnn, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
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


def lstm_internals(
    module: nn.LSTM, inputs: torch.Tensor, outputs: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Gates i, f, g, o and cell state c for every step, from inputs (T, in) and outputs h (T, H)."""
    h_prev = torch.cat([h0[None], outputs[:-1]])
    pre = torch.addmm(module.bias_ih_l0 + module.bias_hh_l0, inputs, module.weight_ih_l0.T)
    pre.addmm_(h_prev, module.weight_hh_l0.T)
    i, f, g, o = pre.chunk(4, dim=1)
    # In place on views of ``pre``: four fewer (T, H) buffers to allocate and write.
    i.sigmoid_(), f.sigmoid_(), g.tanh_(), o.sigmoid_()
    return {"i": i, "f": f, "g": g, "o": o, "c": scan_cell_states(f, i * g, c0)}


def gru_internals(module: nn.GRU, inputs: torch.Tensor, outputs: torch.Tensor, h0: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gates r, z and candidate n for every step (PyTorch's GRU equations)."""
    h_prev = torch.cat([h0[None], outputs[:-1]])
    x_part = inputs @ module.weight_ih_l0.T + module.bias_ih_l0
    h_part = h_prev @ module.weight_hh_l0.T + module.bias_hh_l0
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
def chunk_states(
    model: RNNModel, modules: Sequence[nn.Module], ids: torch.Tensor, state: list, kinds: Sequence[str]
) -> tuple[dict[str, np.ndarray], torch.Tensor]:
    """States ``l{layer}_{kind}`` (T, H) of every layer for token ids (T,), and the top layer's h.

    ``state`` holds each layer's carried state (None: the zero initial state) and is updated in
    place to the state after the last token, so consecutive calls continue one stream.
    """
    hidden = model.config.hidden
    cell = model.config.cell
    recompute = tuple(kinds) != ("h",)  # c and the gates cost about a second forward pass: only when asked for
    columns: dict[str, np.ndarray] = {}
    x = model.embed(ids[None])
    for layer, module in enumerate(modules):
        outputs, new_state = module(x, state[layer])
        h = outputs[0]
        if state[layer] is None:  # zero initial state, shaped (num_layers=1, batch=1, hidden)
            zeros = h.new_zeros(1, 1, hidden)
            state[layer] = (zeros, zeros) if cell == "lstm" else zeros
        if not recompute:
            internals = {}
        elif cell == "lstm":
            internals = lstm_internals(module, x[0], h, state[layer][0][0, 0], state[layer][1][0, 0])
        elif cell == "gru":
            internals = gru_internals(module, x[0], h, state[layer][0, 0])
        else:
            internals = {}
        internals["h"] = h
        for kind in kinds:
            columns[state_column(layer, kind)] = internals[kind].cpu().numpy()
        state[layer] = new_state
        x = outputs
    return columns, x[0]


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
    segment_len: int = 0,
) -> int:
    """Write the states of every layer for the split's tokens (the first ``max_tokens`` if > 0).

    ``segment_len`` > 0: the text is independent segments of that many tokens (the samples of
    :mod:`rnnscope.generate`), each read from a zero state as it was sampled; a segment's last
    row has no next token (its sample ended there).

    ``device`` is ``cpu``, ``cuda`` or ``auto`` (CUDA when torch sees a GPU); each chunk's states
    come back to the CPU for writing. Returns the number of rows written.
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
    token_names = np.asarray(vocab, dtype=object)
    modules = layer_modules(model)
    info = StatesInfo(model_name, config.cell, config.layers, config.hidden, kinds)
    state: list = [None] * config.layers
    total = 0
    # One token past the cap is read so the last row still knows its next token.
    chunks = iter_encoded_chunks(text_path, vocab, chunk_len, max_tokens + 1 if max_tokens else 0, load_level(vocab_path))
    # One chunk of look-ahead gives the next token of each chunk's last row.
    chunk, following = next(chunks, None), next(chunks, None)
    if chunk is None or (len(chunk) < 2 and following is None):
        raise ValueError(f"{text_path} has fewer than 2 tokens; extraction needs at least 2")
    with StatesWriter(out_path, info) as writer:
        while chunk is not None:
            if max_tokens and total + len(chunk) > max_tokens:
                chunk, following = chunk[: max_tokens - total], chunk[max_tokens - total :]
            if segment_len:
                if len(chunk) != segment_len:
                    raise ValueError(f"{text_path} ends in a segment of {len(chunk)} tokens, not {segment_len}")
                state = [None] * config.layers
            columns, top = chunk_states(model, modules, torch.from_numpy(chunk).to(target), state, kinds)
            log_probs = torch.log_softmax(model.decoder(top), dim=-1).cpu()
            following_id = following[:1] if following is not None and not segment_len else []
            next_ids = np.concatenate([chunk[1:], following_id]).astype(np.int64)
            logprob_next = np.full(len(chunk), np.nan, dtype=np.float32)
            logprob_next[: len(next_ids)] = log_probs[torch.arange(len(next_ids)), torch.from_numpy(next_ids)].numpy()
            next_column = np.full(len(chunk), -1, dtype=np.int32)
            next_column[: len(next_ids)] = next_ids
            tokens = {
                "position": np.arange(total, total + len(chunk), dtype=np.int64),
                "token_id": chunk.astype(np.int32),
                "token": token_names[chunk],
                "next_token_id": next_column,
                "logprob_next": logprob_next,
                "pred_id": log_probs.argmax(-1).numpy().astype(np.int32),
            }
            writer.write(tokens, columns)
            total += len(chunk)
            if max_tokens and total >= max_tokens:
                break
            chunk, following = following, next(chunks, None)
    log.info("wrote %d rows of %s states to %s", total, ",".join(kinds), out_path)
    return total
