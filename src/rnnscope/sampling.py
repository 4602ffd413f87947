"""Which positions of a split the probes' states and labels files hold.

``prefix`` keeps the first ``max_tokens`` positions: one contiguous stretch, what the expected
responses (Δh = h_t − h_{t−1}) and the neuron heatmaps need, but a handful of files of a
concatenated corpus (the first 20k test characters of the default Linux split). ``spread`` keeps
``max_tokens`` positions drawn uniformly, without replacement, from the whole split after the
probes' warm-up, so probe scores describe the split rather than its opening. The extract and
label stages both call :func:`sampled_positions`, so their ``position`` columns agree.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Sampling = Literal["prefix", "spread"]
SAMPLINGS: tuple[Sampling, ...] = ("prefix", "spread")


def sampled_positions(n_tokens: int, max_tokens: int, sampling: Sampling, skip: int = 0, seed: int = 0) -> np.ndarray:
    """Sorted int64 positions kept of a split of ``n_tokens`` tokens.

    ``max_tokens`` 0 keeps every position (either sampling). ``prefix`` keeps the first
    ``max_tokens``. ``spread`` keeps ``max_tokens`` positions drawn uniformly without replacement
    from ``[skip, n_tokens)`` (the first ``skip`` are the zero-state transients probes leave out)
    by a ``seed``-ed generator, or all of them when that range is not larger."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"unknown sampling {sampling!r}; allowed: {', '.join(SAMPLINGS)}")
    if min(n_tokens, max_tokens, skip) < 0:
        raise ValueError("n_tokens, max_tokens and skip must be >= 0")
    if not max_tokens:
        return np.arange(n_tokens, dtype=np.int64)
    if sampling == "prefix":
        return np.arange(min(max_tokens, n_tokens), dtype=np.int64)
    candidates = max(n_tokens - skip, 0)
    if max_tokens >= candidates:
        return np.arange(skip, n_tokens, dtype=np.int64)
    drawn = np.random.default_rng(seed).choice(candidates, size=max_tokens, replace=False)
    return np.sort(drawn).astype(np.int64) + skip
