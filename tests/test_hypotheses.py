from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnscope.hypotheses import (
    HYPOTHESIS_SETS,
    char_surface_labels,
    label_split,
    label_text,
    part_of_speech_labels,
)
from rnnscope.labels import read_labels
from rnnscope.text import TEXT_CHUNK_BYTES, line_prefix, read_utf8_prefix

NA = None
MIRROR = Path(__file__).resolve().parents[2] / "shared" / "mirror"


def column(frame: pd.DataFrame, name: str) -> list[object]:
    """A column as a plain list with None for nulls, to compare with hand-written values."""
    return [None if pd.isna(value) else value for value in frame[name].tolist()]


def test_registry_has_the_required_sets() -> None:
    assert {"counting", "char_text", "code"} <= set(HYPOTHESIS_SETS)


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


def test_char_text_columns(tagger_data: Path) -> None:
    text = 'Ann "x (y (z))" u)\nDon\'t (Eve)'
    frame, kinds = label_text(text, "char_text", tagger_data)
    assert kinds == {
        "position_in_line": "continuous",
        "capitalized_word": "binary",
        "inside_quotes": "binary",
        "inside_parentheses": "binary",
        "paren_depth": "continuous",
        "next_is_newline": "binary",
        "noun": "binary",
        "verb": "binary",
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
    frame = char_surface_labels(text)
    assert len(frame) == len(text) == 13
    assert column(frame, "capitalized_word") == [i in {3, 4, 5} for i in range(13)]


def test_char_text_escaped_quotes_do_not_toggle() -> None:
    frame = char_surface_labels('f("a\\"b") x')
    assert column(frame, "inside_quotes") == [2 <= i <= 6 for i in range(11)]
    frame = char_surface_labels('"a\\\\" b')
    assert column(frame, "inside_quotes") == [True, True, True, True, False, False, False]


def test_char_text_quotes_restart_after_a_blank_line() -> None:
    frame = char_surface_labels('"One\n\n"Two" x')
    inside = [True] * 5 + [False] + [True] * 4 + [False] * 3
    assert column(frame, "inside_quotes") == inside


def test_char_text_depth_ignores_unbalanced_closers_on_a_long_text() -> None:
    text = "(((a)))" * 1000 + ")" * 5 + "(b"
    frame = char_surface_labels(text)
    assert frame["paren_depth"].max() == 3
    assert column(frame, "paren_depth")[-7:] == [0, 0, 0, 0, 0, 1, 1]


def test_noun_and_verb_on_a_hand_checked_sentence(tagger_data: Path) -> None:
    """Tags checked by hand against the tagger's universal output for each line:
    First/ADV Citizen/NOUN :/. and We/PRON are/VERB all/DET resolved/VERB ;/. do/VERB n't/ADV
    speak/VERB ./. -- letters only, the clitic n't and punctuation are False."""
    text = "First Citizen:\nWe are all resolved; don't speak."
    frame = part_of_speech_labels(text, tagger_data)
    assert len(frame) == len(text)
    assert column(frame, "noun") == pieces_mask(text, ["Citizen"])
    verbs = pieces_mask(text, ["are", "resolved", "speak"])
    do = text.index("don't")
    verbs[do : do + 2] = [True, True]
    assert column(frame, "verb") == verbs


def test_proper_nouns_count_as_nouns_and_tags_stay_on_letters(tagger_data: Path) -> None:
    text = "MENENIUS:\nRome's 3 citizens run."
    frame = part_of_speech_labels(text, tagger_data)
    rome = text.index("Rome")
    assert column(frame, "noun")[rome : rome + 4] == [True] * 4  # NNP -> NOUN
    assert not frame["noun"].iloc[[text.index("'"), text.index("3"), text.index("."), text.index("\n")]].any()
    assert not (frame["noun"] & frame["verb"]).any()


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


def test_label_split_keeps_crlf_as_two_tokens(tagger_data: Path, tmp_path: Path) -> None:
    text_path = tmp_path / "crlf.txt"
    text_path.write_bytes(b"A\r\nb")
    out_path = tmp_path / "crlf.parquet"
    label_split(text_path, "char_text", out_path, tagger_data=tagger_data)
    frame, _ = read_labels(out_path)
    assert column(frame, "position_in_line") == [0, 1, 2, 0]
    assert column(frame, "next_is_newline") == [False, True, False, False]


def test_label_split_tags_only_the_prefix_it_keeps(tagger_data: Path, tmp_path: Path) -> None:
    text = "First Citizen:\nWe are all resolved; don't speak.\n\nSecond Citizen:\nSpeak, speak!\n"
    assert line_prefix(text, 20) == "First Citizen:\nWe are all resolved; don't speak.\n"
    assert line_prefix(text, 14) == "First Citizen:\n"  # position 13 needs to know a newline follows
    assert line_prefix(text, len(text)) == text
    text_path = tmp_path / "split.txt"
    text_path.write_text(text)
    full, _ = label_text(text, "char_text", tagger_data)
    for max_tokens in (14, 15, 20, 49, 50, 51, len(text)):
        label_split(text_path, "char_text", tmp_path / "cut.parquet", max_tokens, tagger_data=tagger_data)
        cut, _ = read_labels(tmp_path / "cut.parquet")
        pd.testing.assert_frame_equal(cut, full.iloc[:max_tokens], check_dtype=False)


def test_label_split_code_prefix_agrees_with_the_whole_split(tmp_path: Path) -> None:
    # Cuts inside a /* */ comment, between a comment opener's two characters, inside a string
    # holding a comment marker and inside a spliced // comment.
    text = 'int a; /* open\n "still" comment */ f("/*", \'"\');\n// spliced \\\n line\nx = (y[1]);\n'
    text_path = tmp_path / "code.txt"
    text_path.write_text(text)
    full, _ = label_text(text, "code")
    for max_tokens in range(1, len(text) + 1):
        label_split(text_path, "code", tmp_path / "cut.parquet", max_tokens)
        cut, _ = read_labels(tmp_path / "cut.parquet")
        pd.testing.assert_frame_equal(cut, full.iloc[:max_tokens], check_dtype=False)


def test_label_split_reads_only_the_prefix_of_a_long_split(tmp_path: Path) -> None:
    # Past the first read chunk the file is not UTF-8: labelling a prefix must not read that far.
    text_path = tmp_path / "long.txt"
    text_path.write_bytes(b"int x;\n" * (TEXT_CHUNK_BYTES // 7 + 10) + b"\xff")
    label_split(text_path, "code", tmp_path / "cut.parquet", 1000)
    cut, _ = read_labels(tmp_path / "cut.parquet")
    assert len(cut) == 1000
    assert read_utf8_prefix(text_path, 1000).count("\n") == 1000 // 7 + 1
    with pytest.raises(ValueError, match="not UTF-8"):
        label_split(text_path, "code", tmp_path / "all.parquet")


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


def marked(mask: str) -> list[bool]:
    """A hand-drawn mask as booleans: any character but a space marks True."""
    return [mark != " " for mark in mask]


def pieces_mask(line: str, pieces: list[str]) -> list[bool]:
    """True on the characters of ``pieces``, each found once in ``line``."""
    mask = [False] * len(line)
    for piece in pieces:
        assert line.count(piece) == 1, f"{piece!r} must occur once in {line!r}"
        start = line.index(piece)
        mask[start : start + len(piece)] = [True] * len(piece)
    return mask


def code_labels(lines: list[str]) -> tuple[str, pd.DataFrame]:
    """The text of ``lines`` joined by newlines and its code labels."""
    text = "\n".join(lines)
    frame, _ = label_text(text, "code")
    return text, frame


def line_slice(lines: list[str], number: int) -> slice:
    """The positions of line ``number`` of ``"\n".join(lines)`` (its newline excluded)."""
    start = sum(len(line) + 1 for line in lines[:number])
    return slice(start, start + len(lines[number]))


def test_code_kinds_and_registry() -> None:
    frame, kinds = label_text("int x;\n", "code")
    assert kinds == {
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
    assert list(frame.columns) == ["position", *kinds]


def test_code_position_in_line_and_next_is_newline_match_char_text() -> None:
    text = "\tif (x)\n\t\treturn 0;\n}"
    code, _ = label_text(text, "code")
    prose, _ = label_text(text, "char_text")
    assert column(code, "position_in_line") == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0]
    assert column(code, "next_is_newline") == [i in {6, 18} for i in range(21)]
    assert column(code, "position_in_line") == column(prose, "position_in_line")
    assert column(code, "next_is_newline") == column(prose, "next_is_newline")


# Kernel-style lines, each with the pieces inside a comment, a string and a char literal.
REGION_LINES: list[tuple[str, list[str], list[str], list[str]]] = [
    ('static int show(const char *s) /* "quotes" and (parens) */', ['/* "quotes" and (parens) */'], [], []),
    ("{", [], [], []),
    (
        '\tprintk("/* not a comment */ %s\\n", s); // line comment with \'quote',
        ["// line comment with 'quote"],
        ['"/* not a comment */ %s\\n"'],
        [],
    ),
    ("\tc = '\"';", [], [], ["'\"'"]),
    ("\tc = '\\'';", [], [], ["'\\''"]),
    ('\td = "a\\"b\\\\"; e = \'\\\\\';', [], ['"a\\"b\\\\"'], ["'\\\\'"]),
    ("}", [], [], []),
    ("/*", ["/*"], [], []),
    (' * Multi-line block with "quote and ( paren', [' * Multi-line block with "quote and ( paren'], [], []),
    (" */", [" */"], [], []),
    ("int x; // spliced \\", ["// spliced \\"], [], []),
    ("still a comment", ["still a comment"], [], []),
    ('int y; /* x */ /**/ "//" z;', ["/* x */", "/**/"], ['"//"'], []),
]


def test_code_comments_strings_and_char_literals_line_by_line() -> None:
    lines = [line for line, _, _, _ in REGION_LINES]
    text, frame = code_labels(lines)
    for number, (line, comments, strings, char_literals) in enumerate(REGION_LINES):
        span = line_slice(lines, number)
        string, char_literal = pieces_mask(line, strings), pieces_mask(line, char_literals)
        assert column(frame, "inside_comment")[span] == pieces_mask(line, comments), line
        assert column(frame, "inside_string")[span] == string, line
        assert column(frame, "inside_char_literal")[span] == char_literal, line
        assert column(frame, "inside_quotes")[span] == [s or c for s, c in zip(string, char_literal, strict=True)], line
    # Block comment newlines are inside; a // comment's own newline is not, a spliced one is.
    inside_comment = column(frame, "inside_comment")
    newlines = [inside_comment[i] for i, char in enumerate(text) if char == "\n"]
    assert newlines == [False] * 7 + [True, True, False, True, False]


def test_code_paren_and_expression_depth_skip_comments_and_literals() -> None:
    lines = [
        "static int show(const char *s) /* (x */",
        "{",
        '\tprintk("(%s)\\n", a[s[0]]); // )',
        "\tif (c == '(' || c == ')') {",
        "\t}",
        "}",
    ]
    # Digit per character; "\t" and "\\n" are one and two characters.
    parens = [
        "0" * 15 + "1" * 14 + "0" * 10,
        "0",
        "0" * 7 + "1" * 18 + "0" * 7,
        "0" * 4 + "1" * 21 + "0" * 3,
        "00",
        "0",
    ]
    depths = [
        "0" * 15 + "1" * 14 + "0" * 10,
        "1",
        "1" * 7 + "2" * 12 + "3344321" + "1" * 6,
        "1" * 4 + "2" * 21 + "112",
        "21",
        "0",
    ]
    _, frame = code_labels(lines)
    for number, line in enumerate(lines):
        span = line_slice(lines, number)
        assert column(frame, "paren_depth")[span] == [int(d) for d in parens[number]], line
        assert column(frame, "inside_parentheses")[span] == [d != "0" for d in parens[number]], line
        assert column(frame, "expression_depth")[span] == [int(d) for d in depths[number]], line


def test_code_indent_levels_in_tab_stops() -> None:
    lines = [
        "int f(void)",
        "{",
        "\tif (a) {",
        "\t\tfor (;;) {",
        "\t\t\tif (b)",
        "\t\t\t\treturn 1;",
        "\t\t}",
        "        x = 1;",
        "\t    y = 2;",
        "       \t\tz = 3;",
        "",
        "}",
    ]
    # 8 spaces = 1; a tab after 4 spaces still ends at column 8; 7 spaces + tab + tab = 2.
    # Leading whitespace carries the indent read so far (the label is the state after reading
    # the character): the four tabs of "\t\t\t\treturn" are 1, 2, 3, 4.
    leading = {
        "\t": [1],
        "\t\t": [1, 2],
        "\t\t\t": [1, 2, 3],
        "\t\t\t\t": [1, 2, 3, 4],
        "        ": [0] * 7 + [1],
        "\t    ": [1] * 5,
        "       \t\t": [0] * 7 + [1, 2],
    }
    levels = [0, 0, 1, 2, 3, 4, 2, 1, 1, 2, 0, 0]
    text, frame = code_labels(lines)
    expected = []
    for line, level in zip(lines, levels, strict=True):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        expected += leading.get(indent, []) + [level] * (len(line) + 1 - len(indent))
    expected = expected[: len(text)]
    assert expected[text.index("return") - 4 : text.index("return") + 1] == [1, 2, 3, 4, 4]
    assert column(frame, "indent_level") == expected
    for threshold in (1, 2, 3):
        assert column(frame, f"indent_gt_{threshold}") == [level > threshold for level in expected]


def test_code_unterminated_literals_end_at_the_newline() -> None:
    _, frame = code_labels(["#error don't do this", 'x = "open', "y = (1);"])
    assert column(frame, "inside_char_literal") == marked(" " * 10 + "#" * 10 + " " * 19)
    assert column(frame, "inside_string") == marked(" " * 25 + "#" * 5 + " " * 9)
    assert column(frame, "paren_depth")[-4:] == [1, 1, 0, 0]


def test_code_real_kernel_excerpt_lib_string() -> None:
    tarball = Path("/work/shared/mirror/linux/linux-6.1.192-kernel-mm-lib-ext4-src.tar.xz")
    if not tarball.exists():
        pytest.skip("kernel source tarball not mirrored")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("linux-source-6.1/lib/string.c")
        assert member is not None
        text = member.read().decode()
    frame, _ = label_text(text, "code")
    assert frame["expression_depth"].iloc[-1] == 0
    body = "\twhile ((*dest++ = *src++) != '\\0')\n\t\t/* nothing */;\n"
    start = text.index(body, text.index("char *strcpy(char *dest, const char *src)\n{"))
    rows = frame.iloc[start : start + len(body)]
    assert column(rows, "inside_char_literal") == marked(" " * 30 + "####" + " " * 19)
    assert column(rows, "inside_comment") == marked(" " * 38 + "#" * 13 + "  ")
    assert column(rows, "paren_depth")[:35] == [0] * 7 + [1] + [2] * 17 + [1] * 9 + [0]
    assert column(rows, "expression_depth")[:8] == [1] * 7 + [2]
    assert column(rows, "indent_level") == [1] * 36 + [1] + [2] * 16


# Real kernel lines, pasted verbatim from the mirrored 6.1.192 source (path:first line in the
# comment), each with the pieces a C compiler reads as comment, string and char literal. The
# pieces were checked by hand against the C rules: a quote in a comment opens nothing, a comment
# marker in a string opens nothing, and \" \' \\ are escapes inside literals.
KERNEL_SNIPPETS: list[tuple[str, list[tuple[str, list[str], list[str], list[str]]]]] = [
    (
        "kernel/trace/trace_functions_graph.c:1321",  # a comment holding a string and its escape
        [
            (
                '\tchar buf[15]; /* More than enough to hold UINT_MAX + "\\n"*/',
                ['/* More than enough to hold UINT_MAX + "\\n"*/'],
                [],
                [],
            )
        ],
    ),
    (
        "kernel/trace/trace_functions_graph.c:953",  # a string holding a whole comment
        [
            ("\telse", [], [], []),
            ('\t\ttrace_seq_printf(s, "} /* %ps */\\n", (void *)trace->func);', [], ['"} /* %ps */\\n"'], []),
        ],
    ),
    (
        "lib/dynamic_debug.c:292",  # an unbalanced ' in a comment; a " and an escaped ' as chars
        [
            (
                "\t\t/* find `end' of word, whitespace separated or quoted */",
                ["/* find `end' of word, whitespace separated or quoted */"],
                [],
                [],
            ),
            ("\t\tif (*buf == '\"' || *buf == '\\'') {", [], [], ["'\"'", "'\\''"]),
        ],
    ),
    (
        "kernel/printk/index.c:70",  # a string ending in an escaped backslash, in a macro
        [
            ("#define seq_escape_printf_format(s, src) \\", [], [], []),
            ('\tseq_escape_str(s, src, ESCAPE_ANY | ESCAPE_NAP | ESCAPE_APPEND, "\\"\\\\")', [], ['"\\"\\\\"'], []),
        ],
    ),
    (
        "kernel/trace/trace_probe.h:432",  # single quotes and an escaped " inside a string
        [
            (
                '\tC(IMMSTR_NO_CLOSE,\t"String is not closed with \'\\"\'"),\t\\',
                [],
                ['"String is not closed with \'\\"\'"'],
                [],
            ),
            (
                '\tC(FILE_ON_KPROBE,\t"File offset is not available with kprobe"), \\',
                [],
                ['"File offset is not available with kprobe"'],
                [],
            ),
        ],
    ),
    (
        "kernel/rcu/tree.c:639",  # apostrophes in a // comment, which ends at its newline
        [
            (
                "\t// If we're here from NMI there's nothing to do.",
                ["// If we're here from NMI there's nothing to do."],
                [],
                [],
            ),
            ("\tif (in_nmi())", [], [], []),
            ("\t\treturn;", [], [], []),
        ],
    ),
    (
        "kernel/events/core.c:8411",  # // inside a string is no comment
        [
            ('\tchar path_enomem[16] = "//enomem";', [], ['"//enomem"'], []),
            ("\tchar *pathname;", [], [], []),
        ],
    ),
    (
        "lib/string_helpers.c:254",  # escaped quote and backslash char literals
        [
            ("\tcase '\\\"':", [], [], ["'\\\"'"]),
            ("\t\t*p = '\\\"';", [], [], ["'\\\"'"]),
            ("\t\tbreak;", [], [], []),
            ("\tcase '\\\\':", [], [], ["'\\\\'"]),
            ("\t\t*p = '\\\\';", [], [], ["'\\\\'"]),
            ("\t\tbreak;", [], [], []),
        ],
    ),
]


@pytest.mark.parametrize("snippet", KERNEL_SNIPPETS, ids=[where for where, _ in KERNEL_SNIPPETS])
def test_code_regions_on_real_kernel_snippets(
    snippet: tuple[str, list[tuple[str, list[str], list[str], list[str]]]],
) -> None:
    _, expected = snippet
    lines = [line for line, _, _, _ in expected]
    _, frame = code_labels(lines)
    for number, (line, comments, strings, char_literals) in enumerate(expected):
        span = line_slice(lines, number)
        string, char_literal = pieces_mask(line, strings), pieces_mask(line, char_literals)
        assert column(frame, "inside_comment")[span] == pieces_mask(line, comments), line
        assert column(frame, "inside_string")[span] == string, line
        assert column(frame, "inside_char_literal")[span] == char_literal, line
        assert column(frame, "inside_quotes")[span] == [s or c for s, c in zip(string, char_literal, strict=True)], line


def test_real_kernel_snippets_are_verbatim_in_the_mirror() -> None:
    """The pasted lines are the kernel's own (checked when the mirror is there)."""
    tarball = Path("/work/shared/mirror/linux/linux-6.1.192-kernel-mm-lib-ext4-src.tar.xz")
    if not tarball.exists():
        pytest.skip("kernel source tarball not mirrored")
    wanted = {f"linux-source-6.1/{where.split(':')[0]}": where for where, _ in KERNEL_SNIPPETS}
    with tarfile.open(tarball) as archive:
        files = {name: archive.extractfile(name).read().decode().split("\n") for name in wanted}  # type: ignore[union-attr]
    for where, expected in KERNEL_SNIPPETS:
        path, first = where.split(":")
        source_lines = files[f"linux-source-6.1/{path}"]
        start = int(first) - 1
        assert source_lines[start : start + len(expected)] == [line for line, _, _, _ in expected], where
