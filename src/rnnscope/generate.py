"""Text sampled from a trained character model, and probes fitted on it (as seed 003 did).

Seed 003 trained its diagnostic classifiers on "500 character long text sequences generated
with a temperature of 0.8", starting generation from a dummy character. Here each sequence is
primed with ``primer`` (a newline by default: the dummy character is then an ordinary line
start, so labels such as position_in_line are right from the first sampled character) and
``length`` characters are sampled from softmax(logits / temperature).

The sequences of a split are sampled as one stream: the model starts from a zero state, and the
state after one sequence carries into the primer of the next, as it does across batches in
training and across the real splits in extraction. The split's text file is that stream
(primer, sequence, primer, sequence, ...), so re-reading it with
:func:`rnnscope.extract.extract_states` from a zero state yields exactly the states the sampler
had, and :func:`rnnscope.hypotheses.label_split` labels it like a real split. Probe-train and
probe-test are separate streams of whole sequences (a fraction ``test_fraction`` of them), each
from a zero state, so no sequence is on both sides.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from rnnscope.data import encode, load_vocab
from rnnscope.models import RNNModel
from rnnscope.train import load_model

log = logging.getLogger(__name__)

PROBE_SPLITS = ("train", "test")


@dataclass(frozen=True)
class GenerateSettings:
    """How much text is sampled and how (see the module docstring)."""

    sequences: int
    length: int
    temperature: float
    seed: int
    primer: str = "\n"
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.sequences < 2 or self.length < 1:
            raise ValueError(f"generate needs sequences >= 2 and length >= 1, got {self.sequences} and {self.length}")
        if not self.temperature > 0:
            raise ValueError(f"generate.temperature must be > 0 (small values approach argmax), got {self.temperature}")
        if not self.primer:
            raise ValueError("generate.primer is empty; give at least one character (e.g. a newline)")
        n_test = self.split_sizes()["test"]
        if n_test < 1 or n_test >= self.sequences:
            raise ValueError(
                f"test_fraction {self.test_fraction} of {self.sequences} sequences leaves "
                f"{n_test} for test and {self.sequences - n_test} for train; both need at least one"
            )

    def split_sizes(self) -> dict[str, int]:
        """Whole sequences per probe split."""
        n_test = round(self.sequences * self.test_fraction)
        return {"train": self.sequences - n_test, "test": n_test}


@torch.no_grad()
def sample_stream(
    model: RNNModel,
    primer_ids: Sequence[int],
    sequences: int,
    length: int,
    temperature: float,
    generator: torch.Generator,
) -> list[list[int]]:
    """``sequences`` lists of ``length`` sampled token ids, sampled as one stream.

    Before each sequence the primer is fed; the state carries from one sequence to the next
    (the last sampled token is read too, so the stream matches its text file exactly).
    """
    model.eval()
    primer = torch.tensor([list(primer_ids)], dtype=torch.long)
    hidden = None
    sampled: list[list[int]] = []
    for _ in range(sequences):
        logits, hidden = model(primer, hidden)
        ids: list[int] = []
        for _ in range(length):
            probabilities = torch.softmax(logits[0, -1].double() / temperature, dim=-1)
            token = torch.multinomial(probabilities, 1, generator=generator)
            ids.append(int(token))
            logits, hidden = model(token.view(1, 1), hidden)
        sampled.append(ids)
    return sampled


def generate_text(
    checkpoint: str | Path,
    vocab_path: str | Path,
    out_paths: dict[str, str | Path],
    summary_path: str | Path,
    settings: GenerateSettings,
    model_name: str = "",
    threads: int = 1,
) -> dict:
    """Sample the probe-train and probe-test streams; write each as text and a JSON summary.

    ``out_paths`` maps ``train`` and ``test`` to text files. Deterministic on the CPU for a
    given checkpoint and settings (one seeded generator, train stream first).
    """
    torch.set_num_threads(threads)
    model, _ = load_model(checkpoint)
    vocab = load_vocab(vocab_path)
    try:
        primer_ids = encode(settings.primer, vocab)
    except ValueError as error:
        raise ValueError(f"generate.primer {settings.primer!r} has a character outside the model's vocabulary: {error}") from error
    generator = torch.Generator().manual_seed(settings.seed)
    summary: dict = {"model": model_name, "settings": asdict(settings), "splits": {}}
    started = time.perf_counter()
    for split in PROBE_SPLITS:
        sequences = sample_stream(model, primer_ids, settings.split_sizes()[split], settings.length, settings.temperature, generator)
        text = "".join(settings.primer + "".join(vocab[i] for i in ids) for ids in sequences)
        path = Path(out_paths[split])
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        counts = np.bincount(np.concatenate([np.asarray(ids) for ids in sequences]), minlength=len(vocab))
        frequencies = counts[counts > 0] / counts.sum()
        summary["splits"][split] = {
            "sequences": len(sequences),
            "characters": len(text),
            "distinct_characters": int((counts > 0).sum()),
            "unigram_entropy_nats": float(-(frequencies * np.log(frequencies)).sum()),
        }
        log.info("sampled %d sequences (%d characters) for probe-%s -> %s", len(sequences), len(text), split, path)
    summary["seconds"] = time.perf_counter() - started
    Path(summary_path).write_text(json.dumps(summary, indent=2))
    return summary


def sequence_blocks(text: str, primer: str, length: int) -> list[str]:
    """Cut a generated split's text back into its sequences (the inverse of the file layout)."""
    block = len(primer) + length
    if len(text) % block:
        raise ValueError(f"generated text of {len(text)} characters is not whole blocks of primer + {length} characters")
    blocks = [text[start : start + block] for start in range(0, len(text), block)]
    bad = [index for index, chunk in enumerate(blocks) if not chunk.startswith(primer)]
    if bad:
        raise ValueError(f"generated sequence {bad[0]} does not start with the primer {primer!r}")
    return [chunk[len(primer) :] for chunk in blocks]
