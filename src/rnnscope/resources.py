"""Cluster resource requests (memory, runtime) estimated from a model's config and corpus size.

The constants are measured on the 2-core development machine (torch 2.13 CPU) and rounded up:
importing torch and pandas costs ~400 MB; a fused 2x128 character LSTM trains at ~20k tokens/s
on one core, i.e. ~25 GFLOP/s of useful work; a tiny model's step costs ~5 ms of overhead.
Requests err on the generous side (x2) because a job killed for memory or time costs more than
a slightly larger reservation.
"""

from __future__ import annotations

import math

BASE_MB = 500
GATES = {"srn": 1, "rnn_tanh": 1, "gru": 3, "lstm": 4}
STATE_KINDS_COUNT = {"srn": 1, "rnn_tanh": 1, "gru": 4, "lstm": 6}
CPU_FLOPS = 25e9
STEP_OVERHEAD_S = 0.005
SAFETY = 2.0
ASSUMED_VOCAB = 100  # characters; word models set an embedding


def flops_per_token(model: dict, vocab: int = ASSUMED_VOCAB) -> float:
    """Forward + backward FLOPs of the recurrent stack and the decoder for one token."""
    hidden, layers, gates = model["hidden"], model["layers"], GATES[model["cell"]]
    first_input = model.get("embedding") or vocab
    recurrent = sum(gates * hidden * ((first_input if layer == 0 else hidden) + hidden) for layer in range(layers))
    return 2 * 3 * (recurrent + hidden * vocab)


def train_runtime_minutes(model: dict, train: dict, train_tokens: int, vocab: int = ASSUMED_VOCAB) -> int:
    if train.get("max_train_tokens"):
        train_tokens = min(train_tokens, train["max_train_tokens"])
    tokens = train_tokens * train["epochs"] * train.get("restarts", 1)
    if train.get("max_steps"):
        tokens = min(tokens, train["max_steps"] * train["batch_size"] * train["seq_len"] * train.get("restarts", 1))
    steps = tokens / (train["batch_size"] * train["seq_len"])
    seconds = tokens * flops_per_token(model, vocab) / CPU_FLOPS + steps * STEP_OVERHEAD_S
    return max(10, math.ceil(SAFETY * seconds / 60))


def train_mem_mb(model: dict, train: dict, corpus_tokens: int, vocab: int = ASSUMED_VOCAB) -> int:
    hidden, layers, gates = model["hidden"], model["layers"], GATES[model["cell"]]
    parameters = flops_per_token(model, vocab) / 6 + vocab * model.get("embedding", 0)
    weights = 4 * parameters * 4  # weights, gradients and Adam's two moments, float32
    activations = train["batch_size"] * train["seq_len"] * (hidden * layers * (gates + 2) + vocab) * 4 * 3
    data = corpus_tokens * 8 * 2  # int64 ids, plus the text they came from
    return math.ceil(BASE_MB + SAFETY * (weights + activations + data) / 2**20)


# Data preparation streams (rnnscope.data): measured peaks were 63 MB building and splitting the
# 25 MB mirror kernel subset and 53 MB splitting a 250 MB text, so memory does not grow with the
# corpus; the request covers Python, numpy and one tarball member (the kernel's largest .c/.h
# files are a few tens of MB) with room to spare.
PREPARE_MEM_MB = 400
PREPARE_BYTES_PER_S = 20e6  # corpus bytes per second: 250 MB split in 8.7 s, rounded down
TARBALL_EXPANSION = 10  # corpus bytes per compressed tarball byte (the mirror subset: 5.7)


def prepare_runtime_minutes(input_bytes: int, compressed: bool = False) -> int:
    """Minutes to build and split a corpus from an input file of ``input_bytes``."""
    corpus_bytes = input_bytes * (TARBALL_EXPANSION if compressed else 1)
    return max(10, math.ceil(SAFETY * corpus_bytes / PREPARE_BYTES_PER_S / 60))


def extract_mem_mb(model: dict, kinds: int, chunk_len: int, vocab: int = ASSUMED_VOCAB) -> int:
    """Extraction holds one chunk of every requested state column, a few times over (compute,
    numpy view, Arrow batch), and the chunk's next-token logits and log-softmax over the
    vocabulary (what dominates for a 10k-word model: measured 780-830 MB peak on PTB with
    4096-token chunks); nothing grows with the corpus."""
    states = chunk_len * model["hidden"] * model["layers"] * kinds * 4 * 4
    logits = chunk_len * vocab * 4 * 3
    return math.ceil(BASE_MB + SAFETY * (states + logits) / 2**20)


LABEL_BYTES_PER_CHAR = (
    110  # labels and intermediates: +139 MB peak (103 B/char) for the 1.35M-character Linux train split (code set)
)


def label_mem_mb(characters: int) -> int:
    """Labelling a whole split (``extract.sampling: spread``) holds every character's labels
    before the kept rows are taken; a prefix needs far less."""
    return math.ceil(BASE_MB + SAFETY * characters * LABEL_BYTES_PER_CHAR / 2**20)
