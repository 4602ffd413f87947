"""Datasets: synthetic generators, verified downloads, deterministic splits and vocabularies."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
MIRROR_ENV = "RNNSCOPE_MIRROR"
COUNTING_SYMBOLS = {"anbn": "ab", "anbncn": "abc"}
# Token levels of a dataset's vocabulary (vocab.json "level"): one token per character, or
# whitespace-separated words with an end-of-sentence token at every line end (Mikolov's PTB).
LEVELS = ("char", "word")
EOS = "<eos>"
UNK = "<unk>"


class DownloadError(RuntimeError):
    """A dataset could not be fetched from any source."""


# ---------------------------------------------------------------- synthetic corpora


def counting_string(symbols: str, n: int) -> str:
    """``a^n b^n`` (symbols "ab") or ``a^n b^n c^n`` (symbols "abc")."""
    return "".join(symbol * n for symbol in symbols)


def generate_counting(symbols: str, ns: Sequence[int]) -> str:
    """The stream of counting strings with the given n, concatenated (no separator)."""
    if any(n < 1 for n in ns):
        raise ValueError(f"every n must be >= 1, got {min(ns)}; set n_min >= 1 in the dataset config")
    return "".join(counting_string(symbols, n) for n in ns)


def counting_splits(
    symbols: str, n_min: int, n_max: int, n_test_max: int, train_strings: int, eval_repeats: int, seed: int
) -> dict[str, str]:
    """Train strings with n drawn uniformly from [n_min, n_max]; valid covers the same range;
    test covers [n_min, n_test_max] (beyond the training n, to measure generalisation), each n
    ``eval_repeats`` times in a shuffled order."""
    if not 1 <= n_min <= n_max <= n_test_max:
        raise ValueError(f"need 1 <= n_min <= n_max <= n_test_max, got {n_min}, {n_max}, {n_test_max}")
    rng = random.Random(seed)
    train = [rng.randint(n_min, n_max) for _ in range(train_strings)]
    valid = [n for n in range(n_min, n_max + 1) for _ in range(eval_repeats)]
    test = [n for n in range(n_min, n_test_max + 1) for _ in range(eval_repeats)]
    rng.shuffle(valid)
    rng.shuffle(test)
    return {name: generate_counting(symbols, ns) for name, ns in zip(SPLITS, (train, valid, test))}


# ---------------------------------------------------------------- downloads


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Source:
    """Where a file can come from: an upstream URL (http(s), file:// or a local path) and its
    path inside a mirror folder (config ``mirror`` or $RNNSCOPE_MIRROR)."""

    url: str
    sha256: str
    mirror_path: str | None = None


def candidate_locations(source: Source, mirror: str | None) -> list[str]:
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    locations = []
    if mirror and source.mirror_path:
        locations.append(str(Path(mirror) / source.mirror_path))
    locations.append(source.url)
    return locations


def _copy_location(location: str, partial: Path, timeout: float) -> None:
    if location.startswith(("http://", "https://", "file://")):
        with urllib.request.urlopen(location, timeout=timeout) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    else:
        shutil.copyfile(location, partial)


def fetch(source: Source, dest: str | Path, mirror: str | None = None, retries: int = 3, timeout: float = 10.0) -> Path:
    """Copy ``source`` to ``dest``, verifying its sha256; nothing is left at ``dest`` on failure.

    Sources are tried in order (mirror first, then the URL); network errors are retried
    ``retries`` times with a short back-off, each attempt bounded by ``timeout`` seconds.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    errors: list[str] = []
    for location in candidate_locations(source, mirror):
        is_remote = location.startswith(("http://", "https://"))
        for attempt in range(1, (retries if is_remote else 1) + 1):
            try:
                _copy_location(location, partial, timeout)
            except (OSError, urllib.error.URLError) as error:
                errors.append(f"{location} (attempt {attempt}): {error}")
                partial.unlink(missing_ok=True)
                if is_remote and attempt < retries:
                    time.sleep(0.5 * attempt)
                continue
            actual = sha256_of(partial)
            if actual != source.sha256:
                partial.unlink(missing_ok=True)
                raise DownloadError(
                    f"sha256 mismatch for {location}: expected {source.sha256}, got {actual}. "
                    "The file is corrupt or a different version; nothing was kept. Point the "
                    "dataset at the right file or update its sha256 in the config."
                )
            partial.replace(dest)
            log.info("fetched %s -> %s (sha256 ok)", location, dest)
            return dest
    raise DownloadError(
        "could not fetch the dataset from any source:\n  "
        + "\n  ".join(errors)
        + f"\nOffline? Point at a local copy: set config key `mirror` (or ${MIRROR_ENV}) to a folder "
        f"holding {source.mirror_path or 'the file'}, or set the dataset's `url` to a local path or file:// URL."
    )


# ---------------------------------------------------------------- text corpora


def read_utf8(path: str | Path) -> str:
    """The file as text; a non-UTF-8 file is an error naming the byte offset."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8: byte {error.start} ({data[error.start:error.start + 1]!r}) cannot be decoded. "
            "Re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        ) from error
    if not text:
        raise ValueError(f"{path} is empty: a dataset needs text to train on.")
    return text


def split_text(text: str, fractions: Sequence[float]) -> dict[str, str]:
    """Contiguous train/valid/test split at the given fractions, each cut moved forward to the
    next line start so no line is broken across splits."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) <= 0:
        raise ValueError(f"split fractions must be three positive numbers summing to 1, got {list(fractions)}")
    cuts = []
    for boundary in (fractions[0], fractions[0] + fractions[1]):
        cut = int(len(text) * boundary)
        # Searching from cut - 1 keeps a cut that already sits at a line start where it is.
        newline = text.find("\n", max(cut - 1, 0))
        cuts.append(cut if newline < 0 else newline + 1)
    parts = {"train": text[: cuts[0]], "valid": text[cuts[0] : cuts[1]], "test": text[cuts[1] :]}
    empty = [name for name, part in parts.items() if not part]
    if empty:
        raise ValueError(f"split(s) {empty} came out empty from {len(text)} characters: the corpus is too short.")
    return parts


def build_vocab(text: str) -> list[str]:
    """Character vocabulary of the whole corpus, sorted (a closed character set)."""
    return sorted(set(text))


def word_tokens(lines: Iterable[str]) -> Iterator[str]:
    """The words of each line (split at whitespace), each line closed by ``<eos>``.

    This is how Mikolov's PTB is read (a line is a sentence; its newline becomes ``<eos>``); a
    last line without a newline is closed too, and an empty line is a lone ``<eos>``.
    """
    for line in lines:
        yield from line.split()
        yield EOS


def text_lines(text: str) -> list[str]:
    """The lines of ``text`` as a file iterator would give them (a final newline opens no new line)."""
    return text.splitlines(keepends=True) if text else []


def build_word_vocab(text: str) -> list[str]:
    """Word vocabulary of a training text: ``<eos>`` and every word, most frequent first (ties
    alphabetical). Words of other splits that are missing map to ``<unk>`` when it is in here."""
    counts = Counter(word_tokens(text_lines(text)))
    return sorted(counts, key=lambda word: (-counts[word], word))


def write_splits(parts: dict[str, str], vocab: list[str], out_dir: str | Path, level: str = "char") -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown token level {level!r}; allowed: {', '.join(LEVELS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        (out / f"{name}.txt").write_text(part, encoding="utf-8")
    # Character vocabularies keep the original file layout (no "level" key means char).
    payload: dict = {"tokens": vocab} if level == "char" else {"tokens": vocab, "level": level}
    (out / "vocab.json").write_text(json.dumps(payload, ensure_ascii=False, indent=0), encoding="utf-8")


def load_vocab(path: str | Path) -> list[str]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["tokens"]


def load_level(path: str | Path) -> str:
    """The token level of a vocab.json: ``char`` (the default) or ``word``."""
    level = json.loads(Path(path).read_text(encoding="utf-8")).get("level", "char")
    if level not in LEVELS:
        raise ValueError(f"{path} has token level {level!r}; allowed: {', '.join(LEVELS)}. Rebuild the dataset.")
    return level


def _word_ids(words: Iterable[str], index: dict[str, int], where: str) -> Iterator[int]:
    """Ids of ``words``; a word outside the vocabulary is ``<unk>`` when the vocabulary has one."""
    unk = index.get(UNK)
    for word in words:
        token_id = index.get(word, unk)
        if token_id is None:
            raise ValueError(
                f"word {word!r}{where} is not in the vocabulary, which has no {UNK} token to stand for it; "
                f"rebuild the dataset or map rare words to {UNK} in the corpus"
            )
        yield token_id


def encode(text: str, vocab: Sequence[str], level: str = "char") -> list[int]:
    """Token ids of ``text``: one per character, or per word (with ``<eos>`` at line ends)."""
    index = {token: i for i, token in enumerate(vocab)}
    if level == "word":
        return list(_word_ids(word_tokens(text_lines(text)), index, ""))
    if level != "char":
        raise ValueError(f"unknown token level {level!r}; allowed: {', '.join(LEVELS)}")
    try:
        return [index[char] for char in text]
    except KeyError as error:
        raise ValueError(f"character {error.args[0]!r} is not in the vocabulary; rebuild the dataset") from error


def iter_encoded_chunks(
    path: str | Path, vocab: Sequence[str], chunk_len: int, max_tokens: int = 0, level: str = "char"
) -> Iterator[np.ndarray]:
    """The file's tokens as token-id arrays of ``chunk_len``, read incrementally so memory
    does not grow with the file (the first ``max_tokens`` tokens when > 0)."""
    if level == "word":
        yield from _iter_word_chunks(path, vocab, chunk_len, max_tokens)
        return
    if level != "char":
        raise ValueError(f"unknown token level {level!r}; allowed: {', '.join(LEVELS)}")
    index = {token: i for i, token in enumerate(vocab)}
    remaining = max_tokens or None
    with open(path, encoding="utf-8", newline="") as handle:
        offset = 0
        while remaining is None or remaining > 0:
            size = chunk_len if remaining is None else min(chunk_len, remaining)
            try:
                text = handle.read(size)
            except UnicodeDecodeError as error:
                raise ValueError(f"{path} is not UTF-8 near character {offset}: {error.reason}. Re-encode the file as UTF-8.") from error
            if not text:
                return
            try:
                yield np.fromiter((index[char] for char in text), dtype=np.int64, count=len(text))
            except KeyError as error:
                raise ValueError(f"character {error.args[0]!r} of {path} is not in the vocabulary; rebuild the dataset") from error
            offset += len(text)
            if remaining is not None:
                remaining -= len(text)


def _iter_word_chunks(path: str | Path, vocab: Sequence[str], chunk_len: int, max_tokens: int) -> Iterator[np.ndarray]:
    index = {token: i for i, token in enumerate(vocab)}
    buffer: list[int] = []
    emitted = 0
    with open(path, encoding="utf-8") as handle:
        try:
            for token_id in _word_ids(word_tokens(handle), index, f" of {path}"):
                buffer.append(token_id)
                if len(buffer) == chunk_len or (max_tokens and emitted + len(buffer) == max_tokens):
                    yield np.asarray(buffer, dtype=np.int64)
                    emitted += len(buffer)
                    buffer = []
                    if max_tokens and emitted >= max_tokens:
                        return
        except UnicodeDecodeError as error:
            raise ValueError(f"{path} is not UTF-8: {error.reason}. Re-encode the file as UTF-8.") from error
    if buffer:
        yield np.asarray(buffer, dtype=np.int64)


def prepare_counting(task: str, settings: dict, out_dir: str | Path) -> None:
    """Write the splits of a synthetic counting task (``anbn`` or ``anbncn``)."""
    if task not in COUNTING_SYMBOLS:
        raise ValueError(f"unknown counting task {task!r}; allowed: {sorted(COUNTING_SYMBOLS)}")
    symbols = COUNTING_SYMBOLS[task]
    parts = counting_splits(symbols, **settings)
    write_splits(parts, list(symbols), out_dir)


def prepare_text(corpus_path: str | Path, fractions: Sequence[float], out_dir: str | Path) -> None:
    """Split a UTF-8 text corpus and write its character vocabulary."""
    text = read_utf8(corpus_path)
    write_splits(split_text(text, fractions), build_vocab(text), out_dir)


def prepare_word_files(split_paths: Sequence[str], out_dir: str | Path) -> None:
    """Copy already split word corpora (train, valid, test, in that order) and write the word
    vocabulary of the train split (PTB: 10000 types, ``<unk>`` and ``<eos>`` included)."""
    if len(split_paths) != len(SPLITS):
        raise ValueError(f"a word_files dataset needs one file per split {SPLITS}, got {list(split_paths)}")
    parts = {split: read_utf8(path) for split, path in zip(SPLITS, split_paths)}
    write_splits(parts, build_word_vocab(parts["train"]), out_dir, level="word")


def prepare_dataset(spec: dict, corpus: Sequence[str], out_dir: str | Path) -> None:
    """Dispatch on the dataset's ``kind``: counting tasks are generated, text corpora split,
    word corpora that come split (``word_files``) copied with their word vocabulary."""
    if spec["kind"] == "word_files":
        prepare_word_files(corpus, out_dir)
    elif spec["kind"] == "counting":
        prepare_counting(spec["task"], spec["counting"], out_dir)
    elif spec["kind"] in ("download", "text"):
        if len(corpus) != 1:
            raise ValueError(f"a {spec['kind']} dataset needs exactly one corpus file, got {list(corpus)}")
        prepare_text(corpus[0], spec["split"], out_dir)
    else:
        raise ValueError(f"unknown dataset kind {spec['kind']!r}; allowed: counting, download, text, word_files")
