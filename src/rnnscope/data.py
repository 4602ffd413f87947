"""Preparing datasets: synthetic generators, corpora from text files and source tarballs, deterministic
splits and vocabularies (the prepare_dataset rule). Downloads are in rnnscope.downloads; reading the
prepared splits back (UTF-8, vocabularies, token ids) is in rnnscope.text."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import json
import logging
import lzma
import os
import random
import tarfile
import tempfile
import time
import zlib
from bisect import insort
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from rnnscope.artifacts import partial_path
from rnnscope.text import LEVELS, SPLITS, iter_utf8_chunks, read_utf8, text_lines, word_tokens

log = logging.getLogger(__name__)

COUNTING_SYMBOLS = {"anbn": "ab", "anbncn": "abc"}


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
    return {name: generate_counting(symbols, ns) for name, ns in zip(SPLITS, (train, valid, test), strict=True)}


# ---------------------------------------------------------------- text corpora


@dataclass(frozen=True)
class TextScan:
    """What splitting a text file needs to know before writing anything."""

    characters: int
    last_newline: int  # index of the last "\n", -1 if none
    vocab: list[str]


def scan_text(path: str | Path) -> TextScan:
    """One streaming pass: character count, last newline and the sorted character vocabulary."""
    characters, last_newline = 0, -1
    seen: set[str] = set()
    for chunk in iter_utf8_chunks(path):
        newline = chunk.rfind("\n")
        if newline >= 0:
            last_newline = characters + newline
        characters += len(chunk)
        seen.update(chunk)
    if not characters:
        raise ValueError(f"{path} is empty: a dataset needs text to train on.")
    return TextScan(characters, last_newline, sorted(seen))


def split_cut_targets(characters: int, fractions: Sequence[float]) -> list[int]:
    """Where the train/valid and valid/test cuts fall before moving to a line start."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) <= 0:
        raise ValueError(f"split fractions must be three positive numbers summing to 1, got {list(fractions)}")
    return [int(characters * fractions[0]), int(characters * (fractions[0] + fractions[1]))]


def route_splits(
    chunks: Iterable[str], characters: int, last_newline: int, fractions: Sequence[float], writers: Sequence[TextIO]
) -> None:
    """Write the characters of ``chunks`` (``characters`` in all, last newline at index
    ``last_newline``) to ``writers`` (train, valid, test), contiguously, each cut moved forward
    to the next line start so no line is broken across splits. Streams: one chunk in memory.

    A cut at target ``t`` goes after the first newline at or after index ``max(t - 1, 0)`` (so a
    cut already at a line start stays), or stays at ``t`` when no newline follows.
    """
    targets = split_cut_targets(characters, fractions)
    searches = [max(target - 1, 0) for target in targets]
    # With no newline at or after the search start, the cut stays at its target.
    fixed = [target if search > last_newline else None for target, search in zip(targets, searches, strict=True)]
    sizes = [0, 0, 0]
    split, split_start, position = 0, 0, 0  # current split, where it began, index of chunk[0]
    for chunk in chunks:
        done = 0  # characters of this chunk already written
        while split < 2:
            if searches[split] < split_start:
                cut = split_start  # the previous cut's newline also ends this split: it is empty
            elif (fixed_cut := fixed[split]) is not None:
                cut = fixed_cut
                if cut > position + len(chunk):
                    break
            else:
                newline = chunk.find("\n", max(searches[split] - position, done))
                if newline < 0:
                    break
                cut = position + newline + 1
            writers[split].write(chunk[done : cut - position])
            sizes[split] += cut - position - done
            done, split, split_start = cut - position, split + 1, cut
        writers[split].write(chunk[done:])
        sizes[split] += len(chunk) - done
        position += len(chunk)
    empty = [name for name, size in zip(SPLITS, sizes, strict=True) if not size]
    if empty:
        raise ValueError(f"split(s) {empty} came out empty from {characters} characters: the corpus is too short.")


def split_text(text: str, fractions: Sequence[float]) -> dict[str, str]:
    """Contiguous train/valid/test split at the given fractions, each cut moved forward to the
    next line start so no line is broken across splits (see :func:`route_splits`)."""
    writers = [io.StringIO() for _ in SPLITS]
    route_splits([text], len(text), text.rfind("\n"), fractions, writers)
    return {name: writer.getvalue() for name, writer in zip(SPLITS, writers, strict=True)}


def build_vocab(text: str) -> list[str]:
    """Character vocabulary of the whole corpus, sorted (a closed character set)."""
    return sorted(set(text))


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


# ---------------------------------------------------------------- source tarballs


@dataclass(frozen=True, order=True)
class SpooledFile:
    """A kept tarball member: its path without the top-level folder, where its UTF-8 text sits
    in the spool file, and whether invalid UTF-8 in it was replaced."""

    path: str
    offset: int
    size: int
    replaced: bool


COMPRESSIONS: dict[bytes, Callable[..., Any]] = {b"\xfd7zXZ\x00": lzma.open, b"\x1f\x8b": gzip.open, b"BZh": bz2.open}


def decompressed(path: str | Path) -> BinaryIO:
    """The file, decompressed on the fly by its magic bytes (xz, gzip, bzip2 or none). Unlike
    tarfile's own ``"r|*"``, these readers raise EOFError on a truncated stream."""
    with open(path, "rb") as handle:
        magic = handle.read(6)
    for prefix, opener in COMPRESSIONS.items():
        if magic.startswith(prefix):
            return opener(path, "rb")
    return open(path, "rb")


def strip_top_folder(name: str) -> str | None:
    """``linux-6.1/kernel/fork.c`` -> ``kernel/fork.c``; None for a member not inside a folder."""
    parts = name.removeprefix("./").split("/", 1)
    return parts[1] if len(parts) == 2 and parts[1] else None


def utf8_member(path: str, data: bytes) -> tuple[bytes, bool]:
    """A member's bytes as valid UTF-8, invalid bytes replaced by U+FFFD, and whether any were."""
    try:
        data.decode("utf-8")
        return data, False
    except UnicodeDecodeError as error:
        log.warning("%s: invalid UTF-8 at byte %d; replaced by U+FFFD", path, error.start)
        return data.decode("utf-8", errors="replace").encode("utf-8"), True


@dataclass
class SpoolIndex:
    """The members spooled from a tarball: those that make the corpus, sorted by path."""

    kept: list[SpooledFile] = field(default_factory=list)
    kept_bytes: int = 0
    over_cap_from: str | None = None  # the smallest path dropped by the cap
    matched: set[str] = field(default_factory=set)  # every path that passed the filters


def spool_members(
    tarball: str | Path, spool_path: Path, include_dirs: Sequence[str], extensions: Sequence[str], max_bytes: int
) -> SpoolIndex:
    """Stream the tarball once, appending the wanted members' UTF-8 text to ``spool_path`` and
    keeping the sorted index of the prefix (by path) that fits in ``max_bytes``."""
    prefixes = tuple(folder.strip("/") + "/" for folder in include_dirs)
    suffixes = tuple(extensions)
    index = SpoolIndex()
    try:
        with (
            decompressed(tarball) as stream,
            tarfile.open(fileobj=stream, mode="r|") as archive,
            open(spool_path, "wb") as spool,
        ):
            for member in archive:
                path = strip_top_folder(member.name)
                if path is None or not member.isfile():
                    continue
                if (prefixes and not path.startswith(prefixes)) or (suffixes and not path.endswith(suffixes)):
                    continue
                if path in index.matched:
                    raise ValueError(
                        f"{tarball} holds {path} twice (as {member.name} and before): the corpus would be "
                        "ambiguous. Use a tarball with one top-level folder and unique paths."
                    )
                index.matched.add(path)
                if index.over_cap_from is not None and path > index.over_cap_from:
                    continue  # sorts after a file that is already over the cap
                handle = archive.extractfile(member)
                assert handle is not None  # a regular file always has data
                encoded, replaced = utf8_member(path, handle.read())
                insort(index.kept, SpooledFile(path, spool.tell(), len(encoded), replaced))
                spool.write(encoded)
                index.kept_bytes += len(encoded)
                while max_bytes and index.kept_bytes > max_bytes:
                    dropped = index.kept.pop()
                    index.kept_bytes -= dropped.size
                    index.over_cap_from = dropped.path
            # Read the compressed stream to its end so a truncated or corrupt file is an error.
            while stream.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile) as error:
        raise ValueError(
            f"{tarball} is not a readable (compressed) tar archive: {error}. The download is truncated or "
            "not a tarball; delete it and fetch it again, or point the dataset at the right file."
        ) from error
    return index


def write_spooled(index: SpoolIndex, spool_path: Path, out: Path) -> None:
    """Write the kept members in path order to ``out`` (atomically, via ``.partial``)."""
    kept = index.kept
    if all(a.offset < b.offset for a, b in pairwise(kept)) and kept[-1].offset + kept[-1].size == index.kept_bytes:
        # The tar was already sorted and nothing inside the prefix was dropped (the usual
        # case): the spool's start is the corpus.
        os.truncate(spool_path, index.kept_bytes)
        spool_path.replace(out)
        return
    partial = partial_path(out)
    try:
        with open(spool_path, "rb") as spool, open(partial, "wb") as corpus:
            for entry in kept:
                spool.seek(entry.offset)
                corpus.write(spool.read(entry.size))
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)


def build_tar_corpus(
    tarball: str | Path,
    out_path: str | Path,
    include_dirs: Sequence[str] = (),
    extensions: Sequence[str] = (".c", ".h"),
    max_bytes: int = 0,
) -> dict[str, int]:
    """Concatenate the source files of a (compressed) tarball into one UTF-8 corpus, Karpathy's
    way of making his "linux" corpus (``cat`` of every .c/.h file), streaming.

    - The archive (xz, gzip, bzip2 or plain tar) is read once, as a stream (``tarfile`` mode
      ``"r|"``); neither the tarball nor the corpus is ever held in memory, only one member.
    - Each member's first path component (``linux-6.1/``, ``linux-source-6.1/``) is dropped.
      Regular files are kept when their stripped path lies under one of ``include_dirs``
      (empty: anywhere) and ends with one of ``extensions`` (empty: any name).
    - Files are concatenated as they are (no separator) in sorted stripped-path order (code
      point order, as ``LC_ALL=C sort``), whatever order the tar has: members are spooled to a
      file beside ``out_path`` and only an index (path, offset, size) is sorted.
    - ``max_bytes`` > 0 keeps the longest prefix of that order whose UTF-8 size fits, so the
      corpus ends at a file boundary. Members that sort after a file already over the cap are
      skipped without being read.
    - Non-UTF-8 bytes (old kernel files have a few Latin-1 names) are replaced by U+FFFD
      (``errors="replace"``); the files where that happened are counted and logged.
    - The corpus appears at ``out_path`` only when complete (spool/``.partial``, then rename);
      a failure leaves neither it nor a temporary file.

    Returns ``{"files", "bytes", "replaced_files", "matched_files"}``: files and UTF-8 bytes
    of the corpus, corpus files with replaced bytes, and members matching the filters (those
    over the cap included).
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    spool_path = out.with_name(out.name + ".spool")
    started = time.perf_counter()
    try:
        index = spool_members(tarball, spool_path, include_dirs, extensions, max_bytes)
        if not index.kept:
            reason = (
                f"max_bytes={max_bytes} is smaller than the first matching file ({index.over_cap_from}); raise max_bytes"
                if index.over_cap_from
                else f"no regular file matched include_dirs={list(include_dirs)} and extensions={list(extensions)}; "
                "check them against the tarball's layout (`tar -tf`)"
            )
            raise ValueError(f"{tarball} gave an empty corpus: {reason}.")
        write_spooled(index, spool_path, out)
    finally:
        spool_path.unlink(missing_ok=True)
    stats = {
        "files": len(index.kept),
        "bytes": index.kept_bytes,
        "replaced_files": sum(entry.replaced for entry in index.kept),
        "matched_files": len(index.matched),
    }
    log.info(
        "built %s from %s in %.1f s: %d files, %d bytes (%d with invalid UTF-8 replaced); %d of %d matching files "
        "left out by max_bytes=%d",
        out,
        tarball,
        time.perf_counter() - started,
        stats["files"],
        stats["bytes"],
        stats["replaced_files"],
        stats["matched_files"] - stats["files"],
        stats["matched_files"],
        max_bytes,
    )
    return stats


def prepare_counting(task: str, settings: dict, out_dir: str | Path) -> None:
    """Write the splits of a synthetic counting task (``anbn`` or ``anbncn``)."""
    if task not in COUNTING_SYMBOLS:
        raise ValueError(f"unknown counting task {task!r}; allowed: {sorted(COUNTING_SYMBOLS)}")
    symbols = COUNTING_SYMBOLS[task]
    parts = counting_splits(symbols, **settings)
    write_splits(parts, list(symbols), out_dir)


def prepare_text(corpus_path: str | Path, fractions: Sequence[float], out_dir: str | Path) -> None:
    """Split a UTF-8 text corpus and write its character vocabulary, streaming: two passes
    over the file (scan, then write) with one chunk in memory, whatever the corpus size."""
    scan = scan_text(corpus_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(open(out / f"{name}.txt", "w", encoding="utf-8", newline="")) for name in SPLITS]
        route_splits(iter_utf8_chunks(corpus_path), scan.characters, scan.last_newline, fractions, writers)
    (out / "vocab.json").write_text(json.dumps({"tokens": scan.vocab}, ensure_ascii=False, indent=0), encoding="utf-8")
    log.info("split %d characters of %s into %s (vocabulary of %d)", scan.characters, corpus_path, out, len(scan.vocab))


def prepare_tarball(tarball: str | Path, spec: dict, out_dir: str | Path) -> dict[str, int]:
    """Build the concatenated corpus from a source tarball, then split it; the corpus itself is
    a temporary file (the splits hold all of it)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".corpus-") as scratch:
        corpus = Path(scratch) / "corpus.txt"
        stats = build_tar_corpus(tarball, corpus, spec["include_dirs"], spec["extensions"], spec["max_bytes"])
        prepare_text(corpus, spec["split"], out)
    return stats


DATASET_KINDS = ("counting", "download", "text", "tarball", "word_files")


def prepare_word_files(split_paths: Sequence[str], out_dir: str | Path) -> None:
    """Copy already split word corpora (train, valid, test, in that order) and write the word
    vocabulary of the train split (PTB: 10000 types, ``<unk>`` and ``<eos>`` included)."""
    if len(split_paths) != len(SPLITS):
        raise ValueError(f"a word_files dataset needs one file per split {SPLITS}, got {list(split_paths)}")
    parts = {split: read_utf8(path) for split, path in zip(SPLITS, split_paths, strict=True)}
    write_splits(parts, build_word_vocab(parts["train"]), out_dir, level="word")


def prepare_dataset(spec: dict, corpus: Sequence[str], out_dir: str | Path) -> None:
    """Dispatch on the dataset's ``kind``: counting tasks are generated, text corpora split,
    source tarballs concatenated into a corpus and split, word corpora that come split
    (``word_files``) copied with their word vocabulary."""
    kind = spec["kind"]
    if kind == "word_files":
        prepare_word_files(corpus, out_dir)
        return
    if kind == "counting":
        prepare_counting(spec["task"], spec["counting"], out_dir)
        return
    if kind not in DATASET_KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; allowed: {', '.join(DATASET_KINDS)}")
    if len(corpus) != 1:
        raise ValueError(f"a {kind} dataset needs exactly one corpus file, got {list(corpus)}")
    if kind == "tarball":
        prepare_tarball(corpus[0], spec, out_dir)
    else:
        prepare_text(corpus[0], spec["split"], out_dir)
