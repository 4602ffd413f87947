"""Reading the prepared splits: UTF-8 text (whole or streamed in chunks), vocabularies and token ids."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

SPLITS = ("train", "valid", "test")
# Token levels of a dataset's vocabulary (vocab.json "level"): one token per character, or
# whitespace-separated words with an end-of-sentence token at every line end (Mikolov's PTB).
LEVELS = ("char", "word")
EOS = "<eos>"
UNK = "<unk>"


TEXT_CHUNK_BYTES = 1 << 20


def read_utf8(path: str | Path) -> str:
    """The file as text; a non-UTF-8 file is an error naming the byte offset."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise not_utf8(path, error.start, data[error.start : error.start + 1]) from error
    if not text:
        raise ValueError(f"{path} is empty: a dataset needs text to train on.")
    return text


def not_utf8(path: str | Path, offset: int, byte: bytes) -> ValueError:
    return ValueError(
        f"{path} is not UTF-8: byte {offset} ({byte!r}) cannot be decoded. "
        "Re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
    )


def iter_utf8_chunks(path: str | Path, chunk_bytes: int | None = None) -> Iterator[str]:
    """The file's text in pieces of about ``chunk_bytes`` bytes (default :data:`TEXT_CHUNK_BYTES`, read
    at call time so a test can shrink it), decoded incrementally (a
    character split across two reads is completed by the next), so memory does not grow with
    the file. Line endings are kept as they are. A non-UTF-8 byte is an error naming its offset."""
    chunk_bytes = chunk_bytes or TEXT_CHUNK_BYTES
    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed = 0  # bytes handed to the decoder before the current block
    with open(path, "rb") as handle:
        while True:
            block = handle.read(chunk_bytes)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                pending = len(error.object) - len(block)  # bytes the decoder held from the last block
                offset = consumed - pending + error.start
                raise not_utf8(path, offset, error.object[error.start : error.start + 1]) from error
            consumed += len(block)
            if text:
                yield text
            if not block:
                return


def line_prefix(text: str, max_chars: int) -> str:
    """``text`` through the first newline at or after index ``max_chars`` (all of it if none):
    the shortest prefix whose line-local labels agree with the whole text's on its first
    ``max_chars`` characters."""
    end = text.find("\n", max_chars)
    return text if end < 0 else text[: end + 1]


def read_utf8_prefix(path: str | Path, max_chars: int) -> str:
    """:func:`line_prefix` of the file, read in chunks: memory follows ``max_chars``, not the file's size."""
    pieces, characters = [], 0
    for chunk in iter_utf8_chunks(path):
        pieces.append(chunk)
        characters += len(chunk)
        if characters > max_chars and "\n" in chunk[max(0, max_chars - characters + len(chunk)) :]:
            break
    text = line_prefix("".join(pieces), max_chars)
    if not text:
        raise ValueError(f"{path} is empty: a dataset needs text to train on.")
    return text


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
                raise ValueError(
                    f"{path} is not UTF-8 near character {offset}: {error.reason}. Re-encode the file as UTF-8."
                ) from error
            if not text:
                return
            try:
                yield np.fromiter((index[char] for char in text), dtype=np.int64, count=len(text))
            except KeyError as error:
                raise ValueError(
                    f"character {error.args[0]!r} of {path} is not in the vocabulary; rebuild the dataset"
                ) from error
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


def display_token(token: str) -> str:
    """A token as a readable label: space as '␣', other whitespace and control characters escaped."""
    if token == " ":
        return "␣"
    return token if token.isprintable() else token.encode("unicode_escape").decode("ascii")
