"""Text sampled from a trained character model, under seed 003's protocol, and how it is read back.

Seed 003 fitted its diagnostic classifiers on "500 character long text sequences generated with a
temperature of 0.8", each started "with a dummy character", split 95/5 into train and test. Here:

- Every sample is independent: the model starts from a zero state, reads ``primer`` (the dummy
  character; a newline by default, so the first sampled character is at a line start and labels
  such as position_in_line are right from it) and samples ``length`` characters from
  softmax(logits / temperature). The samples are drawn as one batch (rows never interact, so
  sample k does not depend on sample k - 1, and many samples take the wall time of a few).
- The split is by sample: the last round(sequences * test_fraction) samples are probe-test, the
  others probe-train (default 95/5, the seed's ratio), so no sample is on both sides.
- A split's text file is its samples end to end, each after its primer (primer, sample, primer,
  sample, ...): segments of ``len(primer) + length`` characters. Whatever reads it treats the
  segments as independent: :func:`rnnscope.extract.extract_states` with ``segment_len`` reads
  each from a zero state, which yields exactly the sampler's states (tested), and
  :func:`label_generated` labels each segment alone, so no label state (a comment, a quote, the
  line position) carries from one sample into the next. The primer rows stay unlabelled: probes
  see the sampled characters only, as the seed's hypothesis vectors ("the same size as the
  generated sequence").
- No warm-up: ``probe.warmup_tokens`` drops the rows after the one artificial zero state at the
  start of a real split, where a regression extrapolates on transients it never saw in training.
  Here every sample starts from the zero state it was sampled from, in probe-train and probe-test
  alike, so those rows are in distribution, and the seed drops none:
  :func:`rnnscope.generated_probes.probe_generated_text` does not apply it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnscope.artifacts import write_text_atomically
from rnnscope.hypotheses import label_text
from rnnscope.labels import HypothesisKind, write_labels
from rnnscope.models import RNNModel, load_model
from rnnscope.schema import check_settings
from rnnscope.text import encode, load_vocab, read_utf8

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateSettings:
    """How much text is sampled and how (see the module docstring)."""

    sequences: int
    length: int
    temperature: float
    seed: int
    primer: str = "\n"
    test_fraction: float = 0.05

    def __post_init__(self) -> None:
        check_settings("generate", self)
        n_test = self.split_sizes()["test"]
        if n_test < 1 or n_test >= self.sequences:
            raise ValueError(
                f"test_fraction {self.test_fraction} of {self.sequences} sequences leaves "
                f"{n_test} for test and {self.sequences - n_test} for train; both need at least one"
            )

    def split_sizes(self) -> dict[str, int]:
        """Whole samples per probe split."""
        n_test = round(self.sequences * self.test_fraction)
        return {"train": self.sequences - n_test, "test": n_test}


@torch.no_grad()
def sample_sequences(
    model: RNNModel,
    primer_ids: Sequence[int],
    sequences: int,
    length: int,
    temperature: float,
    generator: torch.Generator,
) -> list[list[int]]:
    """``sequences`` independent samples of ``length`` token ids, drawn as one batch.

    Each row starts from the zero state and reads the primer. The last sampled token is read
    too, so every sampled character has a sampler state (the states extraction reproduces).
    """
    model.eval()
    logits, hidden = model(torch.tensor([list(primer_ids)] * sequences, dtype=torch.long))
    sampled = torch.empty(sequences, length, dtype=torch.long)
    for step in range(length):
        probabilities = torch.softmax(logits[:, -1].double() / temperature, dim=-1)
        sampled[:, step] = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
        logits, hidden = model(sampled[:, step : step + 1], hidden)
    return sampled.tolist()


def generate_text(
    checkpoint: str | Path,
    vocab_path: str | Path,
    out_paths: dict[str, str | Path],
    summary_path: str | Path,
    settings: GenerateSettings,
    model_name: str = "",
    threads: int = 1,
) -> dict:
    """Draw the samples, split them by sample, write each probe split as text and a JSON summary.

    ``out_paths`` maps ``train`` and ``test`` to text files. Deterministic on the CPU for a
    given checkpoint and settings (one seeded generator).
    """
    torch.set_num_threads(threads)
    model, _ = load_model(checkpoint)
    vocab = load_vocab(vocab_path)
    try:
        primer_ids = encode(settings.primer, vocab)
    except ValueError as error:
        raise ValueError(
            f"generate.primer {settings.primer!r} has a character outside the model's vocabulary: {error}"
        ) from error
    generator = torch.Generator().manual_seed(settings.seed)
    summary: dict = {"model": model_name, "settings": asdict(settings), "splits": {}}
    started = time.perf_counter()
    samples = sample_sequences(model, primer_ids, settings.sequences, settings.length, settings.temperature, generator)
    n_train = settings.split_sizes()["train"]
    for split, sequences in (("train", samples[:n_train]), ("test", samples[n_train:])):
        text = "".join(settings.primer + "".join(vocab[i] for i in ids) for ids in sequences)
        path = Path(out_paths[split])
        write_text_atomically(path, text)
        counts = np.bincount(np.concatenate([np.asarray(ids) for ids in sequences]), minlength=len(vocab))
        frequencies = counts[counts > 0] / counts.sum()
        summary["splits"][split] = {
            "sequences": len(sequences),
            "characters": len(text),
            "distinct_characters": int((counts > 0).sum()),
            "unigram_entropy_nats": float(-(frequencies * np.log(frequencies)).sum()),
        }
        log.info("wrote %d samples (%d characters) for probe-%s -> %s", len(sequences), len(text), split, path)
    summary["seconds"] = time.perf_counter() - started
    Path(summary_path).write_text(json.dumps(summary, indent=2))
    return summary


def sequence_blocks(text: str, primer: str, length: int) -> list[str]:
    """Cut a generated split's text back into its samples (the inverse of the file layout)."""
    block = len(primer) + length
    if len(text) % block:
        raise ValueError(
            f"generated text of {len(text)} characters is not whole blocks of primer + {length} characters"
        )
    blocks = [text[start : start + block] for start in range(0, len(text), block)]
    bad = [index for index, chunk in enumerate(blocks) if not chunk.startswith(primer)]
    if bad:
        raise ValueError(f"generated sample {bad[0]} does not start with the primer {primer!r}")
    return [chunk[len(primer) :] for chunk in blocks]


def label_generated(
    text_path: str | Path,
    primer: str,
    length: int,
    hypothesis_set: str,
    out_path: str | Path,
    tagger_data: str | Path | None = None,
) -> pd.DataFrame:
    """Label each sample of a generated split on its own (after its primer) and write the labels.

    Rows align with the split's states (one per character, primer rows included); the primer
    rows have no label, so no probe trains or scores on them.
    """
    frames = []
    kinds: dict[str, HypothesisKind] = {}
    for sample in sequence_blocks(read_utf8(text_path), primer, length):
        frame, kinds = label_text(primer + sample, hypothesis_set, tagger_data)
        hypotheses = list(kinds)
        frame[hypotheses] = frame[hypotheses].astype(object)
        frame.loc[: len(primer) - 1, hypotheses] = None
        frames.append(frame)
    labels = pd.concat(frames, ignore_index=True)
    labels["position"] = np.arange(len(labels), dtype=np.int64)
    write_labels(labels, kinds, out_path)
    log.info(
        "labelled %d samples (%d characters) of %s with %s -> %s",
        len(frames),
        len(labels),
        text_path,
        hypothesis_set,
        out_path,
    )
    return labels
