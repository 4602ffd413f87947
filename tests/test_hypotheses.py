from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnscope.hypotheses import HYPOTHESIS_SETS, label_split, label_text
from rnnscope.labels import read_labels

NA = None


def column(frame: pd.DataFrame, name: str) -> list[object]:
    """A column as a plain list with None for nulls, to compare with hand-written values."""
    return [None if pd.isna(value) else value for value in frame[name].tolist()]


def test_registry_has_the_required_sets() -> None:
    assert {"counting", "char_text"} <= set(HYPOTHESIS_SETS)


def test_counting_anbn() -> None:
    frame, kinds = label_text("aabbab", "counting")
    assert kinds == {
        "symbol": "categorical",
        "n": "continuous",
        "count_seen": "continuous",
        "count_remaining": "continuous",
        "deterministic": "binary",
    }
    assert column(frame, "position") == [0, 1, 2, 3, 4, 5]
    assert column(frame, "symbol") == list("aabbab")
    assert column(frame, "n") == [2, 2, 2, 2, 1, 1]
    assert column(frame, "count_seen") == [1, 2, 1, 2, 1, 1]
    assert column(frame, "count_remaining") == [NA, NA, 1, 0, NA, 0]
    assert column(frame, "deterministic") == [False, False, True, True, False, True]


def test_counting_anbncn() -> None:
    frame, _ = label_text("abcaabbcc", "counting")
    assert column(frame, "symbol") == list("abcaabbcc")
    assert column(frame, "n") == [1, 1, 1, 2, 2, 2, 2, 2, 2]
    assert column(frame, "count_seen") == [1, 1, 1, 1, 2, 1, 2, 1, 2]
    assert column(frame, "count_remaining") == [NA, 0, 0, NA, NA, 1, 0, 1, 0]
    assert column(frame, "deterministic") == [False, True, True, False, False, True, True, True, True]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        ("aabbb", "position 4: expected 'a' after 2 'b'"),
        ("aab", "position 3: expected 1 more 'b'.*found the end of the stream"),
        ("abcabb", "position 5: expected 'c' after 1 'b'.*found 'b'"),
        ("abcab", "position 5: expected 1 more 'c'.*found the end of the stream"),
        ("aabbca", "position 5: expected 1 more 'c'.*found 'a'"),
        ("acb", "position 1: expected 1 more 'b'.*found 'c'"),
        ("ba", "position 0: expected 'a'"),
        ("abx", "'x' at position 2"),
    ],
)
def test_counting_rejects_malformed_streams(stream: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        label_text(stream, "counting")


def test_char_text_columns() -> None:
    text = 'Ann "x (y (z))" u)\nDon\'t (Eve)'
    frame, kinds = label_text(text, "char_text")
    assert kinds == {
        "position_in_line": "continuous",
        "capitalized_word": "binary",
        "inside_quotes": "binary",
        "inside_parentheses": "binary",
        "paren_depth": "continuous",
        "next_is_newline": "binary",
    }
    assert len(text) == 30 and text[18] == "\n"
    assert column(frame, "position") == list(range(30))
    assert column(frame, "position_in_line") == list(range(19)) + list(range(11))
    capitalized = {0, 1, 2, 19, 20, 21, 23, 26, 27, 28}
    assert column(frame, "capitalized_word") == [i in capitalized for i in range(30)]
    assert column(frame, "inside_quotes") == [4 <= i <= 13 for i in range(30)]
    depth = [0] * 7 + [1, 1, 1, 2, 2, 1, 0] + [0] * 5 + [0] * 6 + [1, 1, 1, 1, 0]
    assert column(frame, "paren_depth") == depth
    assert column(frame, "inside_parentheses") == [d > 0 for d in depth]
    assert column(frame, "next_is_newline") == [i == 17 for i in range(30)]


def test_char_text_apostrophes_and_non_bmp_characters_align_with_str_indexing() -> None:
    text = "\U0001f600 'Tis o'Neil"
    frame, _ = label_text(text, "char_text")
    assert len(frame) == len(text) == 13
    assert column(frame, "capitalized_word") == [i in {3, 4, 5} for i in range(13)]


def test_char_text_escaped_quotes_do_not_toggle() -> None:
    frame, _ = label_text('f("a\\"b") x', "char_text")
    assert column(frame, "inside_quotes") == [2 <= i <= 6 for i in range(11)]
    frame, _ = label_text('"a\\\\" b', "char_text")
    assert column(frame, "inside_quotes") == [True, True, True, True, False, False, False]


def test_char_text_quotes_restart_after_a_blank_line() -> None:
    frame, _ = label_text('"One\n\n"Two" x', "char_text")
    inside = [True] * 5 + [False] + [True] * 4 + [False] * 3
    assert column(frame, "inside_quotes") == inside


def test_char_text_depth_ignores_unbalanced_closers_on_a_long_text() -> None:
    text = "(((a)))" * 1000 + ")" * 5 + "(b"
    frame, _ = label_text(text, "char_text")
    assert frame["paren_depth"].max() == 3
    assert column(frame, "paren_depth")[-7:] == [0, 0, 0, 0, 0, 1, 1]


def test_label_text_rejects_unknown_set_and_empty_text() -> None:
    with pytest.raises(ValueError, match=r"unknown hypothesis set 'words'.*char_text.*counting"):
        label_text("abc", "words")
    with pytest.raises(ValueError, match="empty"):
        label_text("", "char_text")


def test_label_split_round_trip(tmp_path: Path) -> None:
    text_path = tmp_path / "valid.txt"
    text_path.write_bytes(b"abcaabbcc")
    out_path = tmp_path / "labels" / "valid.parquet"
    label_split(text_path, "counting", out_path)
    frame, kinds = read_labels(out_path)
    expected, expected_kinds = label_text("abcaabbcc", "counting")
    assert kinds == expected_kinds
    assert column(frame, "position") == list(range(9))
    assert column(frame, "count_remaining") == [NA, 0, 0, NA, NA, 1, 0, 1, 0]
    assert frame["count_remaining"].isna().sum() == 3
    assert column(frame, "symbol") == column(expected, "symbol")
    np.testing.assert_array_equal(frame["count_seen"], expected["count_seen"])


def test_label_split_keeps_crlf_as_two_tokens(tmp_path: Path) -> None:
    text_path = tmp_path / "crlf.txt"
    text_path.write_bytes(b"A\r\nb")
    out_path = tmp_path / "crlf.parquet"
    label_split(text_path, "char_text", out_path)
    frame, _ = read_labels(out_path)
    assert column(frame, "position_in_line") == [0, 1, 2, 0]
    assert column(frame, "next_is_newline") == [False, True, False, False]


def test_label_split_rejects_bad_files(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"ab\xe9cd")
    with pytest.raises(ValueError, match=r"latin1.txt is not UTF-8: byte 2 .*Re-encode"):
        label_split(latin1, "char_text", tmp_path / "out.parquet")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.txt is empty"):
        label_split(empty, "char_text", tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()
