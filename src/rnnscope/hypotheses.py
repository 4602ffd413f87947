"""Hypothesis labellers: per-character labels aligned with a split's token stream.

Token streams are character-level: token ``i`` is ``text[i]`` (Python ``str`` indexing) of the
split's UTF-8 file, so every label frame has one row per character with ``position`` ``i``.
Each hypothesis set maps a text to a frame (``position`` + one column per hypothesis) and the
hypotheses' kinds (see :mod:`rnnscope.labels`).

Labels describe the state *after reading* the character, as an RNN's hidden state does: an
opening delimiter already counts as inside, a closing one as outside (or one level up).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from rnnscope.labels import HypothesisKind, write_labels
from rnnscope.sampling import Sampling, sampled_positions
from rnnscope.tagger import use_tagger_data
from rnnscope.text import read_utf8, read_utf8_prefix

logger = logging.getLogger(__name__)

Labeller = Callable[[str], tuple[pd.DataFrame, dict[str, HypothesisKind]]]

COUNTING_KINDS: dict[str, HypothesisKind] = {
    "symbol": "categorical",
    "n": "continuous",
    "count_seen": "continuous",
    "count_remaining": "continuous",
    "deterministic": "binary",
}
CHAR_TEXT_KINDS: dict[str, HypothesisKind] = {
    "position_in_line": "continuous",
    "capitalized_word": "binary",
    "inside_quotes": "binary",
    "inside_parentheses": "binary",
    "paren_depth": "continuous",
    "next_is_newline": "binary",
    "noun": "binary",
    "verb": "binary",
}
CODE_KINDS: dict[str, HypothesisKind] = {
    "position_in_line": "continuous",
    "next_is_newline": "binary",
    "inside_comment": "binary",
    "inside_string": "binary",
    "inside_char_literal": "binary",
    "inside_quotes": "binary",
    "inside_parentheses": "binary",
    "paren_depth": "continuous",
    "expression_depth": "continuous",
    "indent_level": "continuous",
    "indent_gt_1": "binary",
    "indent_gt_2": "binary",
    "indent_gt_3": "binary",
}
APOSTROPHES = "'\u2019"
# Universal tags labelled per character; NOUN covers PTB NN, NNS, NNP and NNPS (proper nouns too).
PART_OF_SPEECH_TAGS = {"noun": "NOUN", "verb": "VERB"}
TAGGED_LINES_PER_CALL = 20_000  # lines per pos_tag_sents call: bounds the token lists held at once


def code_points(text: str) -> np.ndarray:
    """The characters of ``text`` as an int64 array of code points (index i is ``text[i]``)."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def char_property(codes: np.ndarray, predicate: Callable[[str], bool]) -> np.ndarray:
    """``predicate(chr(c))`` for every code point, evaluated once per distinct character."""
    distinct = np.flatnonzero(np.bincount(codes))
    table = np.zeros(int(distinct[-1]) + 1, dtype=bool)
    table[distinct] = [predicate(chr(code)) for code in distinct]
    return table[codes]


def previous(mask: np.ndarray) -> np.ndarray:
    """``mask`` shifted right by one: whether the previous character has the property."""
    return np.concatenate([[False], mask[:-1]])


def last_index_so_far(mask: np.ndarray) -> np.ndarray:
    """For each position, the last index at or before it where ``mask`` holds (-1 if none)."""
    return np.maximum.accumulate(np.where(mask, np.arange(mask.size), -1))


def malformed_counting(text: str, position: int, expected: str, form: str) -> NoReturn:
    """Raise the error for a counting stream that departs from ``form`` at ``position``."""
    found = repr(text[position]) if position < len(text) else "the end of the stream"
    raise ValueError(
        f"counting stream malformed at position {position}: expected {expected}, found {found}; "
        f"the stream must be whole {form} strings back to back (fix the data generator)"
    )


def counting_strings(text: str, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a stream of a^n b^n (or a^n b^n c^n) strings into runs of one symbol.

    ``codes`` are the code points of ``text``. Returns each run's start, length and the n of
    the string it belongs to. The stream is a^n b^n c^n throughout if it contains any 'c',
    else a^n b^n throughout.
    """
    bad = np.flatnonzero((codes < ord("a")) | (codes > ord("c")))
    if bad.size:
        raise ValueError(
            f"counting stream: character {text[bad[0]]!r} at position {bad[0]}; only 'a', 'b' "
            "and 'c' are allowed (fix the data generator or pick another hypothesis set)"
        )
    starts = np.flatnonzero(np.diff(codes, prepend=-1))
    lengths = np.diff(starts, append=codes.size)
    symbols = "abc" if "c" in text else "ab"
    form = " ".join(f"{symbol}^n" for symbol in symbols)
    run_starts, run_lengths = starts.tolist(), lengths.tolist()
    run_n = np.empty_like(lengths)
    for first in range(0, len(run_starts), len(symbols)):
        string_start, n = run_starts[first], run_lengths[first]
        if text[string_start] != "a":
            malformed_counting(text, string_start, "'a' (the start of a string)", form)
        for offset in range(1, len(symbols)):
            run, symbol = first + offset, symbols[offset]
            start = run_starts[run] if run < len(run_starts) else len(text)
            seen = run_lengths[run] if run < len(run_starts) and text[start] == symbol else 0
            if seen < n:
                expected = f"{n - seen} more {symbol!r} (n={n} for the string at position {string_start})"
                malformed_counting(text, start + seen, expected, form)
            if seen > n:
                following = symbols[offset + 1] if offset + 1 < len(symbols) else "a"
                expected = f"{following!r} after {n} {symbol!r} (n={n} for the string at position {string_start})"
                malformed_counting(text, start + n, expected, form)
        run_n[first : first + len(symbols)] = n
    return starts, lengths, run_n


def label_counting(text: str) -> tuple[pd.DataFrame, dict[str, HypothesisKind]]:
    """Counting labels: symbol, n, count seen/remaining of this symbol, and determinism."""
    codes = code_points(text)
    starts, lengths, run_n = counting_strings(text, codes)
    positions = np.arange(len(text), dtype=np.int64)
    n = np.repeat(run_n, lengths).astype(np.float64)
    count_seen = positions - np.repeat(starts, lengths) + 1.0
    is_a = codes == ord("a")
    frame = pd.DataFrame(
        {
            "position": positions,
            "symbol": pd.array(list("abc"), dtype="string").take(codes - ord("a")),
            "n": n,
            "count_seen": count_seen,
            # How many a's will come is unknown until the first b: undefined on a's.
            "count_remaining": pd.array(np.where(is_a, np.nan, n - count_seen), dtype="Float64"),
            "deterministic": ~is_a,
        },
        copy=False,
    )
    return frame, dict(COUNTING_KINDS)


def positions_in_line(is_newline: np.ndarray) -> np.ndarray:
    """Characters since the last newline: a line's first character is 0, its newline the line's length."""
    newline_before = np.concatenate([[-1], last_index_so_far(is_newline)[:-1]])
    return np.arange(is_newline.size) - newline_before - 1


def followed_by_newline(is_newline: np.ndarray) -> np.ndarray:
    """Whether the next character is a newline; False for the last character."""
    return np.concatenate([is_newline[1:], [False]])


def clamped_cumsum(steps: np.ndarray) -> np.ndarray:
    """Running sum of ``steps`` that never goes below 0 (a step below 0 is dropped)."""
    totals = np.cumsum(steps)
    return totals - np.minimum(np.minimum.accumulate(totals), 0)


def char_surface_labels(text: str) -> pd.DataFrame:
    """Character-level text labels that need no tagger (every char_text hypothesis but noun/verb).

    Conventions (each label is the state after reading the character):

    - ``position_in_line``: characters since the last newline; a line's first character is 0
      and the newline ending a line gets the position it sits at (the line's length).
    - ``capitalized_word``: the character is a letter (``str.isalpha``) of a word, a maximal
      run of letters and apostrophes (' or U+2019), whose first letter is uppercase. Leading
      apostrophes are skipped (they are usually single quotes); apostrophes themselves are False.
    - ``inside_quotes``: an odd number of double quotes ``"`` read so far in the paragraph, this
      one included: the opening quote is True, the closing quote False. A quote preceded by an
      odd number of backslashes (``\\"`` in code) does not toggle. The count restarts after a
      blank line (``\\n\\n``) because prose repeats the opening quote at each paragraph of a
      multi-paragraph speech without closing it, which would otherwise invert the rest of the text.
    - ``paren_depth``: the ``(``/``)`` nesting depth after this character, so ``(`` carries the
      depth it opens and ``)`` the depth it returns to; a ``)`` at depth 0 is ignored, so the
      depth never goes below 0. ``inside_parentheses`` is ``paren_depth > 0``.
    - ``next_is_newline``: the next character is ``\\n``; False for the last character.
    """
    codes = code_points(text)
    positions = np.arange(codes.size, dtype=np.int64)
    is_newline = codes == ord("\n")

    is_letter = char_property(codes, str.isalpha)
    is_upper = char_property(codes, str.isupper)
    in_word = is_letter | char_property(codes, APOSTROPHES.__contains__)
    word_id = np.cumsum(in_word & ~previous(in_word))
    letters = np.flatnonzero(is_letter)
    letter_word = word_id[letters]
    first_letter = np.diff(letter_word, prepend=-1) != 0
    word_capitalized = np.zeros(word_id[-1] + 1, dtype=bool)
    word_capitalized[letter_word[first_letter]] = is_upper[letters[first_letter]]
    capitalized_word = is_letter & word_capitalized[word_id]

    is_backslash = codes == ord("\\")
    backslashes_before = positions - 1 - np.concatenate([[-1], last_index_so_far(~is_backslash)[:-1]])
    toggles = ((codes == ord('"')) & (backslashes_before % 2 == 0)).astype(np.int64)
    paragraph_start = is_newline & previous(is_newline)
    toggles_so_far = np.cumsum(toggles)
    toggles_before_paragraph = np.maximum.accumulate(np.where(paragraph_start, toggles_so_far - toggles, 0))
    inside_quotes = (toggles_so_far - toggles_before_paragraph) % 2 == 1

    steps = (codes == ord("(")).astype(np.int64) - (codes == ord(")"))
    paren_depth = clamped_cumsum(steps)

    frame = pd.DataFrame(
        {
            "position": positions,
            "position_in_line": positions_in_line(is_newline).astype(np.float64),
            "capitalized_word": capitalized_word,
            "inside_quotes": inside_quotes,
            "inside_parentheses": paren_depth > 0,
            "paren_depth": paren_depth.astype(np.float64),
            "next_is_newline": followed_by_newline(is_newline),
        },
        copy=False,
    )
    return frame


def line_spans(text: str) -> Iterator[tuple[int, str]]:
    """Each line's start offset and its text without the newline."""
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


def part_of_speech_labels(text: str, tagger_data: str | Path | None = None) -> pd.DataFrame:
    """``noun`` and ``verb`` per character, from NLTK's averaged perceptron tagger.

    Each line is tokenized with ``TreebankWordTokenizer().span_tokenize`` and tagged as one
    sentence with ``nltk.pos_tag_sents(..., tagset="universal")``. Lines, not the whole text,
    because the Treebank tokenizer splits off only a final period (it expects one sentence) and
    verse ends most sentences at a line end; the tagger looks two words either side, so a line
    break mid-sentence changes few tags. A word's tag goes to its letters (``str.isalpha``);
    apostrophes, digits, punctuation and whitespace are False, as in ``capitalized_word``.
    ``noun`` is universal NOUN, which includes proper nouns (PTB NNP/NNPS, e.g. speaker names):
    the universal tagset has no separate PROPN. Clitics are their own tokens (``do`` + ``n't``).
    """
    import nltk
    from nltk.tokenize import TreebankWordTokenizer

    use_tagger_data(tagger_data)
    tokenizer = TreebankWordTokenizer()
    started = time.perf_counter()
    tag_starts, tag_ends, tags = [], [], []
    lines = list(line_spans(text))
    for first in range(0, len(lines), TAGGED_LINES_PER_CALL):
        spans, sentences = [], []
        for offset, line in lines[first : first + TAGGED_LINES_PER_CALL]:
            line_tokens = list(tokenizer.span_tokenize(line))
            if line_tokens:
                spans.append([(offset + start, offset + end) for start, end in line_tokens])
                sentences.append([line[start:end] for start, end in line_tokens])
        for token_spans, tagged in zip(spans, nltk.pos_tag_sents(sentences, tagset="universal"), strict=True):
            for (start, end), (_, tag) in zip(token_spans, tagged, strict=True):
                tag_starts.append(start)
                tag_ends.append(end)
                tags.append(tag)
    is_letter = char_property(code_points(text), str.isalpha)
    frame = pd.DataFrame({"position": np.arange(len(text), dtype=np.int64)})
    starts, ends, tag_array = (np.asarray(values) for values in (tag_starts, tag_ends, tags))
    for name, wanted in PART_OF_SPEECH_TAGS.items():
        # +1 at a wanted token's start, -1 at its end: the running sum marks its characters.
        chosen = tag_array == wanted
        steps = np.zeros(len(text) + 1, dtype=np.int64)
        np.add.at(steps, starts[chosen].astype(np.int64), 1)
        np.subtract.at(steps, ends[chosen].astype(np.int64), 1)
        frame[name] = (np.cumsum(steps[:-1]) > 0) & is_letter
    logger.info("tagged %d tokens on %d lines in %.2f s", len(tags), len(lines), time.perf_counter() - started)
    return frame


def label_char_text(text: str, tagger_data: str | Path | None = None) -> tuple[pd.DataFrame, dict[str, HypothesisKind]]:
    """Character-level text labels: :func:`char_surface_labels` plus ``noun`` and ``verb`` from
    :func:`part_of_speech_labels` (NLTK's tagger files in ``tagger_data``, see rnnscope.tagger)."""
    frame = char_surface_labels(text)
    tags = part_of_speech_labels(text, tagger_data)
    for name in PART_OF_SPEECH_TAGS:
        frame[name] = tags[name].to_numpy()
    return frame, dict(CHAR_TEXT_KINDS)


CODE, COMMENT, STRING, CHAR_LITERAL = range(4)
C_TOKEN_START = re.compile(r"/[*/]|[\"']")
# A // comment runs to the first newline not spliced by a backslash right before it.
C_LINE_COMMENT_END = re.compile(r"(?<!\\)\n")
# A literal's body: ordinary characters or escapes (a backslash and any character, newline too).
C_LITERAL_BODY = {quote: re.compile(rf"[^{quote}\\\n]*(?:\\.[^{quote}\\\n]*)*", re.DOTALL) for quote in "\"'"}


def c_regions(text: str) -> np.ndarray:
    """Lex C source in one pass: each character's region, CODE, COMMENT, STRING or CHAR_LITERAL.

    Delimiters belong to their region (``/*``, ``*/``, ``//`` and both quotes). A literal with
    no closing quote ends before the unescaped newline (or at the end of the text), as a C
    compiler would reject it there, so a stray quote cannot invert the rest of the file; a
    ``/*`` without ``*/`` runs to the end.
    """
    starts, ends, regions = [], [], []
    position = 0
    while match := C_TOKEN_START.search(text, position):
        start, token = match.start(), match.group()
        if token == "/*":
            close = text.find("*/", start + 2)
            end, region = (len(text) if close < 0 else close + 2), COMMENT
        elif token == "//":
            newline = C_LINE_COMMENT_END.search(text, start + 2)
            end, region = (len(text) if newline is None else newline.start()), COMMENT
        else:
            body = C_LITERAL_BODY[token].match(text, start + 1)
            assert body is not None  # the body pattern also matches the empty string
            body_end = body.end()
            end = body_end + 1 if text.startswith(token, body_end) else body_end
            region = STRING if token == '"' else CHAR_LITERAL
        starts.append(start)
        ends.append(end)
        regions.append(region)
        position = end
    # Spans do not overlap: add a span's region at its start and remove it at its end.
    steps = np.zeros(len(text) + 1, dtype=np.int64)
    np.add.at(steps, np.array(starts, dtype=np.int64), np.array(regions, dtype=np.int64))
    np.subtract.at(steps, np.array(ends, dtype=np.int64), np.array(regions, dtype=np.int64))
    return np.cumsum(steps[:-1])


def indent_levels(text: str) -> np.ndarray:
    """Each character's line indentation in whole tab stops: leading tabs and spaces expanded to
    8-column tab stops, floor-divided by 8 (a tab or 8 spaces = 1 level).

    A leading whitespace character gets the indent read so far, itself included (the state after
    reading it: the tabs of ``\\t\\t\\treturn`` are 1, 2, 3); the rest of the line, its newline
    included, gets the line's whole indent.
    """
    indents = list(re.finditer(r"^[ \t]*", text, re.MULTILINE))
    widths = [len(indent.group().expandtabs(8)) // 8 for indent in indents]
    line_lengths: np.ndarray = np.diff(
        np.array([indent.start() for indent in indents], dtype=np.int64), append=len(text)
    )
    levels = np.repeat(np.array(widths, dtype=np.int64), line_lengths)
    for indent, width in zip(indents, widths, strict=True):
        if width:
            leading = indent.group()
            levels[indent.start() : indent.end()] = [
                len(leading[: end + 1].expandtabs(8)) // 8 for end in range(len(leading))
            ]
    return levels


def label_code(text: str) -> tuple[pd.DataFrame, dict[str, HypothesisKind]]:
    """Character-level labels for C source (the Linux kernel's style).

    Conventions (each label is the state after reading the character, as in
    :func:`label_char_text`, except that region delimiters belong to their region):

    - ``position_in_line``, ``next_is_newline``: as in :func:`label_char_text`.
    - ``inside_comment``: inside ``/* ... */`` or ``// ...``, delimiters included; a // comment
      ends before its newline unless a backslash right before the newline splices the line.
    - ``inside_string``: inside ``"..."``, both quotes included; ``\\"`` and ``\\\\`` are
      escapes. A quote in a comment or char literal does not start one, and ``/*`` or ``//`` in a
      string does not start a comment. ``inside_char_literal``: likewise for ``'...'``.
      ``inside_quotes`` is either of the two. An unterminated literal ends before its newline.
    - ``paren_depth``: ``(``/``)`` nesting in code only (not in comments or literals), with
      char_text's convention: ``(`` carries the depth it opens, ``)`` the depth it returns to,
      a closer at depth 0 is ignored. ``inside_parentheses`` is ``paren_depth > 0``.
      ``expression_depth``: the same over ``()``, ``[]`` and ``{}`` together (closers are not
      matched to their openers' kind).
    - ``indent_level``: the indentation of the character's line, leading tabs and spaces in
      8-column tab stops, floor-divided by 8 (``\\t`` = 8 spaces = 1; ``\\t    `` = 1). A
      leading whitespace character gets the indent read so far (the tabs of ``\\t\\treturn``
      are 1, 2); every later character of the line, its newline included, gets the line's level.
      ``indent_gt_k`` is ``indent_level > k``.

    Preprocessor lines get no special handling: ``#include "x.h"`` is a string, and both
    branches of an ``#if``/``#else`` count towards the depths.
    """
    codes = code_points(text)
    is_newline = codes == ord("\n")
    regions = c_regions(text)
    is_code = regions == CODE
    is_string, is_char_literal = regions == STRING, regions == CHAR_LITERAL

    def code_steps(opener: str, closer: str) -> np.ndarray:
        return (is_code & (codes == ord(opener))).astype(np.int64) - (is_code & (codes == ord(closer)))

    paren_steps = code_steps("(", ")")
    paren_depth = clamped_cumsum(paren_steps)
    expression_depth = clamped_cumsum(paren_steps + code_steps("[", "]") + code_steps("{", "}"))
    indent_level = indent_levels(text)

    frame = pd.DataFrame(
        {
            "position": np.arange(codes.size, dtype=np.int64),
            "position_in_line": positions_in_line(is_newline).astype(np.float64),
            "next_is_newline": followed_by_newline(is_newline),
            "inside_comment": regions == COMMENT,
            "inside_string": is_string,
            "inside_char_literal": is_char_literal,
            "inside_quotes": is_string | is_char_literal,
            "inside_parentheses": paren_depth > 0,
            "paren_depth": paren_depth.astype(np.float64),
            "expression_depth": expression_depth.astype(np.float64),
            "indent_level": indent_level.astype(np.float64),
            "indent_gt_1": indent_level > 1,
            "indent_gt_2": indent_level > 2,
            "indent_gt_3": indent_level > 3,
        },
        copy=False,
    )
    return frame, dict(CODE_KINDS)


HYPOTHESIS_SETS: dict[str, Labeller] = {
    "counting": label_counting,
    "char_text": label_char_text,
    "code": label_code,
}
LINE_LOCAL_SETS = frozenset({"char_text", "code"})  # labels that look ahead at most to the end of the line


def label_text(
    text: str, hypothesis_set: str, tagger_data: str | Path | None = None
) -> tuple[pd.DataFrame, dict[str, HypothesisKind]]:
    """Label every character of ``text`` with the hypotheses of ``hypothesis_set``.

    ``tagger_data`` is the folder of NLTK's tagger files for the char_text set (see
    rnnscope.tagger); the other sets ignore it."""
    if not text:
        raise ValueError("the text is empty; there is nothing to label (check the data stage's split)")
    if hypothesis_set not in HYPOTHESIS_SETS:
        raise ValueError(f"unknown hypothesis set {hypothesis_set!r}; allowed: {sorted(HYPOTHESIS_SETS)}")
    if hypothesis_set == "char_text":
        return label_char_text(text, tagger_data)
    return HYPOTHESIS_SETS[hypothesis_set](text)


def label_split(
    text_path: str | Path,
    hypothesis_set: str,
    out_path: str | Path,
    max_tokens: int = 0,
    tagger_data: str | Path | None = None,
    sampling: Sampling = "prefix",
    skip: int = 0,
    seed: int = 0,
) -> None:
    """Label the split at ``text_path`` and write the labels Parquet to ``out_path``.

    The rows kept are the positions :func:`rnnscope.sampling.sampled_positions` keeps (as
    extraction does with the same ``max_tokens``, ``sampling``, ``skip`` and ``seed``).
    ``prefix``: the first ``max_tokens`` rows (0 = all). The char_text and code labels of a
    character depend only on what came before and on the rest of its line (next_is_newline, a
    comment opener's second character, the part-of-speech tag of its word in its line), so with
    ``max_tokens`` set only :func:`rnnscope.text.line_prefix` of the split is read: memory
    follows ``max_tokens``, not the split's size. Counting labels can depend on a whole string
    (its n), so that set reads the whole split. ``spread``: a label can depend on everything
    before its character (a comment opened lines earlier, the parenthesis depth), so the whole
    split is labelled and only the kept rows are written; memory follows the split's size.
    """
    spread = sampling == "spread" and max_tokens > 0
    if max_tokens and not spread and hypothesis_set in LINE_LOCAL_SETS:
        text = read_utf8_prefix(text_path, max_tokens)
    else:
        text = read_utf8(text_path)
    frame, kinds = label_text(text, hypothesis_set, tagger_data)
    if spread:
        frame = frame.iloc[sampled_positions(len(text), max_tokens, sampling, skip, seed)]
    elif max_tokens:
        frame = frame.iloc[:max_tokens]
    write_labels(frame, kinds, out_path)
    logger.info(
        "labelled %d characters (%s) of %s with %s -> %s", len(frame), sampling, text_path, hypothesis_set, out_path
    )
