"""Datasets: counting generators, verified fetches, UTF-8 reading, line-aligned splits."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import random
import tarfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rnnscope.data import (
    build_tar_corpus,
    counting_splits,
    generate_counting,
    prepare_dataset,
    route_splits,
    split_text,
    write_splits,
)
from rnnscope.downloads import MIRROR_ENV, DownloadError, Source, fetch
from rnnscope.text import EOS, UNK, encode, iter_encoded_chunks, iter_utf8_chunks, load_level, load_vocab, read_utf8

PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def parse_counting(stream: str, symbols: str) -> list[int]:
    """The n of each a^n b^n (c^n) block of a stream, checking every block is well formed."""
    ns = []
    position = 0
    while position < len(stream):
        n = 0
        while position + n < len(stream) and stream[position + n] == symbols[0]:
            n += 1
        block = "".join(symbol * n for symbol in symbols)
        assert n >= 1 and stream[position : position + len(block)] == block
        ns.append(n)
        position += len(block)
    return ns


# ---------------------------------------------------------------- counting


def test_generate_counting_exact_strings() -> None:
    assert generate_counting("ab", [1, 3, 2]) == "ab" + "aaabbb" + "aabb"
    assert generate_counting("abc", [2, 1]) == "aabbcc" + "abc"
    assert generate_counting("ab", []) == ""
    with pytest.raises(ValueError, match="n_min >= 1"):
        generate_counting("ab", [2, 0])


def test_counting_splits_small_case_exact() -> None:
    rng = random.Random(7)
    train_ns = [rng.randint(2, 3) for _ in range(4)]
    parts = counting_splits("ab", n_min=2, n_max=3, n_test_max=4, train_strings=4, eval_repeats=1, seed=7)
    assert parts["train"] == "".join("a" * n + "b" * n for n in train_ns)
    assert sorted(parse_counting(parts["valid"], "ab")) == [2, 3]
    assert sorted(parse_counting(parts["test"], "ab")) == [2, 3, 4]
    assert len(parts["valid"]) == 4 + 6
    assert len(parts["test"]) == 4 + 6 + 8


def test_counting_splits_n_ranges_and_repeats() -> None:
    parts = counting_splits("abc", n_min=2, n_max=5, n_test_max=8, train_strings=300, eval_repeats=3, seed=1)
    train = parse_counting(parts["train"], "abc")
    assert len(train) == 300
    assert set(train) == {2, 3, 4, 5}  # 300 uniform draws from 4 values hit all of them
    assert Counter(parse_counting(parts["valid"], "abc")) == {n: 3 for n in range(2, 6)}
    assert Counter(parse_counting(parts["test"], "abc")) == {n: 3 for n in range(2, 9)}
    assert set(parts["train"] + parts["valid"] + parts["test"]) == set("abc")


def test_counting_splits_deterministic_per_seed() -> None:
    settings = dict(symbols="ab", n_min=1, n_max=6, n_test_max=9, train_strings=50, eval_repeats=4)
    first = counting_splits(**settings, seed=3)
    assert counting_splits(**settings, seed=3) == first
    other = counting_splits(**settings, seed=4)
    assert other["train"] != first["train"]
    assert other["test"] != first["test"]  # the eval order is shuffled with the seed too


@pytest.mark.parametrize("n_min, n_max, n_test_max", [(0, 3, 5), (4, 3, 5), (2, 6, 5)])
def test_counting_splits_bad_ranges(n_min: int, n_max: int, n_test_max: int) -> None:
    with pytest.raises(ValueError, match="n_min <= n_max <= n_test_max"):
        counting_splits("ab", n_min, n_max, n_test_max, train_strings=5, eval_repeats=1, seed=0)


# ---------------------------------------------------------------- fetch


@pytest.fixture
def corpus_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "upstream" / "corpus.txt"
    path.parent.mkdir()
    path.write_bytes(b"hello world\nsecond line\n")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def no_mirror_or_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("as_url", [False, True])
def test_fetch_local_path_and_file_url(corpus_file: tuple[Path, str], tmp_path: Path, as_url: bool) -> None:
    path, digest = corpus_file
    dest = tmp_path / "out" / "corpus.txt"
    url = path.as_uri() if as_url else str(path)
    assert fetch(Source(url, digest), dest) == dest
    assert dest.read_bytes() == b"hello world\nsecond line\n"
    assert list(dest.parent.iterdir()) == [dest]  # no .partial left


def test_fetch_sha256_mismatch_keeps_nothing(corpus_file: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = corpus_file
    dest = tmp_path / "out" / "corpus.txt"
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(Source(str(path), "0" * 64), dest)
    assert not dest.exists()
    assert not dest.with_name("corpus.txt.partial").exists()


def make_mirror(tmp_path: Path) -> tuple[Path, str]:
    mirror = tmp_path / "mirror"
    (mirror / "sub").mkdir(parents=True)
    (mirror / "sub" / "corpus.txt").write_bytes(b"from the mirror\n")
    return mirror, hashlib.sha256(b"from the mirror\n").hexdigest()


def test_fetch_prefers_mirror_argument(tmp_path: Path) -> None:
    mirror, digest = make_mirror(tmp_path)
    dest = tmp_path / "out.txt"
    # The URL is unreachable; had it been tried first, the fetch would be slow or fail.
    fetch(Source("http://127.0.0.1:9/x", digest, mirror_path="sub/corpus.txt"), dest, mirror=str(mirror), retries=1)
    assert dest.read_bytes() == b"from the mirror\n"


def test_fetch_prefers_mirror_environment(
    tmp_path: Path, corpus_file: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror, digest = make_mirror(tmp_path)
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    upstream, _ = corpus_file
    dest = tmp_path / "out.txt"
    # The upstream copy has other bytes: taking it would fail the sha256 check.
    fetch(Source(str(upstream), digest, mirror_path="sub/corpus.txt"), dest)
    assert dest.read_bytes() == b"from the mirror\n"


def test_fetch_falls_back_to_url_when_mirror_lacks_file(tmp_path: Path, corpus_file: tuple[Path, str]) -> None:
    path, digest = corpus_file
    empty_mirror = tmp_path / "empty_mirror"
    empty_mirror.mkdir()
    dest = tmp_path / "out.txt"
    fetch(Source(str(path), digest, mirror_path="corpus.txt"), dest, mirror=str(empty_mirror))
    assert dest.read_bytes() == path.read_bytes()


def test_fetch_unreachable_url_fails_fast_with_mirror_hint(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    started = time.perf_counter()
    with pytest.raises(DownloadError) as raised:
        fetch(Source("http://127.0.0.1:9/x", "0" * 64, mirror_path="x.txt"), dest, retries=2, timeout=5.0)
    assert time.perf_counter() - started < 10.0
    message = str(raised.value)
    assert "mirror" in message and MIRROR_ENV in message
    assert "attempt 1" in message and "attempt 2" in message
    assert not dest.exists() and not dest.with_name("out.txt.partial").exists()


# ---------------------------------------------------------------- text


def test_read_utf8_reports_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9 ok\n")
    with pytest.raises(ValueError, match=r"not UTF-8: byte 3 "):
        read_utf8(path)
    utf8 = tmp_path / "utf8.txt"
    utf8.write_text("café\n", encoding="utf-8")
    assert read_utf8(utf8) == "café\n"


def test_read_utf8_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_utf8(path)


def test_split_text_cuts_at_line_starts() -> None:
    text = "aaaa\nbbbb\ncccc\ndddd\neeee\n"  # 25 characters, lines of 5
    # Cuts at int(25*0.5)=12 and int(25*0.7)=17 move to the next line starts 15 and 20.
    assert split_text(text, [0.5, 0.2, 0.3]) == {"train": "aaaa\nbbbb\ncccc\n", "valid": "dddd\n", "test": "eeee\n"}


def test_split_text_keeps_cut_already_at_line_start() -> None:
    assert split_text("a\nb\nc\n", [1 / 3, 1 / 3, 1 / 3]) == {"train": "a\n", "valid": "b\n", "test": "c\n"}


def test_split_text_without_newlines_cuts_at_fraction() -> None:
    assert split_text("abcdefghij", [0.8, 0.1, 0.1]) == {"train": "abcdefgh", "valid": "i", "test": "j"}


@pytest.mark.parametrize("fractions", [[0.5, 0.5], [0.5, 0.3, 0.3], [1.0, 0.0, 0.0], [1.2, -0.1, -0.1]])
def test_split_text_validates_fractions(fractions: list[float]) -> None:
    with pytest.raises(ValueError, match="three positive numbers summing to 1"):
        split_text("a\nb\nc\n", fractions)


def test_split_text_too_short_corpus() -> None:
    with pytest.raises(ValueError, match=r"\['valid', 'test'\].*too short"):
        split_text("one single line\n", [0.8, 0.1, 0.1])


# ---------------------------------------------------------------- prepare_dataset


def test_prepare_dataset_counting(tmp_path: Path) -> None:
    settings = dict(n_min=1, n_max=3, n_test_max=5, train_strings=10, eval_repeats=2, seed=0)
    prepare_dataset({"kind": "counting", "task": "anbncn", "counting": settings}, [], tmp_path)
    assert load_vocab(tmp_path / "vocab.json") == ["a", "b", "c"]
    expected = counting_splits("abc", **settings)
    for split, text in expected.items():
        assert (tmp_path / f"{split}.txt").read_text() == text
    with pytest.raises(ValueError, match="unknown counting task 'abab'"):
        prepare_dataset({"kind": "counting", "task": "abab", "counting": settings}, [], tmp_path / "x")


def test_prepare_dataset_text(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("ab\n" * 8 + "zé\n" * 2, encoding="utf-8")  # 30 characters
    out = tmp_path / "data"
    prepare_dataset({"kind": "text", "split": [0.6, 0.2, 0.2]}, [str(corpus)], out)
    assert (out / "train.txt").read_text(encoding="utf-8") == "ab\n" * 6
    assert (out / "valid.txt").read_text(encoding="utf-8") == "ab\n" * 2
    assert (out / "test.txt").read_text(encoding="utf-8") == "zé\n" * 2
    assert json.loads((out / "vocab.json").read_text(encoding="utf-8")) == {"tokens": ["\n", "a", "b", "z", "é"]}
    vocab = load_vocab(out / "vocab.json")
    assert encode("zab\n", vocab) == [3, 1, 2, 0]
    with pytest.raises(ValueError, match="'q' is not in the vocabulary"):
        encode("abq", vocab)
    with pytest.raises(ValueError, match="exactly one corpus file"):
        prepare_dataset({"kind": "text", "split": [0.6, 0.2, 0.2]}, [], tmp_path / "none")
    with pytest.raises(ValueError, match="unknown dataset kind 'audio'"):
        prepare_dataset({"kind": "audio"}, [], tmp_path / "none")


def test_iter_encoded_chunks_sizes_and_cap(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("abcab\ncé", encoding="utf-8")
    vocab = ["\n", "a", "b", "c", "é"]
    chunks = list(iter_encoded_chunks(path, vocab, chunk_len=3))
    assert [chunk.tolist() for chunk in chunks] == [[1, 2, 3], [1, 2, 0], [3, 4]]
    capped = list(iter_encoded_chunks(path, vocab, chunk_len=3, max_tokens=4))
    assert [chunk.tolist() for chunk in capped] == [[1, 2, 3], [1]]
    assert all(chunk.dtype == np.int64 for chunk in chunks)
    with pytest.raises(ValueError, match="'é' of .* is not in the vocabulary"):
        list(iter_encoded_chunks(path, vocab[:4], chunk_len=3))


def reference_split(text: str, fractions: list[float]) -> dict[str, str]:
    """The in-memory split the streaming one must reproduce: each cut after the first newline
    at or after ``target - 1`` (or at the target when none follows)."""
    cuts = []
    for boundary in (fractions[0], fractions[0] + fractions[1]):
        cut = int(len(text) * boundary)
        newline = text.find("\n", max(cut - 1, 0))
        cuts.append(cut if newline < 0 else newline + 1)
    return {"train": text[: cuts[0]], "valid": text[cuts[0] : cuts[1]], "test": text[cuts[1] :]}


def test_streamed_split_matches_the_in_memory_split_for_any_chunking() -> None:
    rng = random.Random(0)
    checked = 0
    for _ in range(300):
        text = "".join(rng.choice("ab\n") for _ in range(rng.randint(3, 40)))
        fractions = rng.choice([[0.8, 0.1, 0.1], [0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3]])
        expected = reference_split(text, fractions)
        chunk = rng.randint(1, 9)
        writers = [io.StringIO() for _ in range(3)]
        chunks = [text[i : i + chunk] for i in range(0, len(text), chunk)]
        if not all(expected.values()):
            with pytest.raises(ValueError, match="came out empty"):
                route_splits(chunks, len(text), text.rfind("\n"), fractions, writers)
            continue
        route_splits(chunks, len(text), text.rfind("\n"), fractions, writers)
        assert [w.getvalue() for w in writers] == list(expected.values()), (text, fractions, chunk)
        checked += 1
    assert checked > 200


def test_iter_utf8_chunks_joins_characters_split_across_reads(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes("é€😀\r\nz".encode())
    assert "".join(iter_utf8_chunks(path, chunk_bytes=1)) == "é€😀\r\nz"
    path.write_bytes("aé".encode() + b"b\xffc")
    with pytest.raises(ValueError, match=r"not UTF-8: byte 4 \(b'\\xff'\)"):
        list(iter_utf8_chunks(path, chunk_bytes=2))


def test_prepare_text_streams_with_small_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus.txt"
    text = "".join(f"line {i} é\r\n" if i % 7 else f"{i}\n" for i in range(200))
    corpus.write_text(text, encoding="utf-8", newline="")
    monkeypatch.setattr("rnnscope.text.TEXT_CHUNK_BYTES", 5)
    # the default read size is looked up at call time, so prepare_dataset reads 5 bytes at a time
    assert max(len(chunk.encode()) for chunk in iter_utf8_chunks(corpus)) <= 5 + 3  # (+ a character's tail)
    out = tmp_path / "data"
    prepare_dataset({"kind": "text", "split": [0.9, 0.05, 0.05]}, [str(corpus)], out)
    for split, part in reference_split(text, [0.9, 0.05, 0.05]).items():
        assert (out / f"{split}.txt").read_bytes() == part.encode()
    assert load_vocab(out / "vocab.json") == sorted(set(text))


# ---------------------------------------------------------------- source tarballs


def make_tarball(path: Path, members: list[tuple[str, bytes]], links: tuple[str, ...] = ()) -> Path:
    """An xz tarball holding ``members`` in the given order (plus symlinks and a folder entry)."""
    with tarfile.open(path, "w:xz") as archive:
        folder = tarfile.TarInfo("linux-6.1/kernel")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, "a.c"
            archive.addfile(info)
    return path


KERNEL_MEMBERS = [  # deliberately not in path order
    ("linux-6.1/mm/b.c", b"mm b\n"),
    ("linux-6.1/kernel/z.h", b"kernel z\n"),
    ("linux-6.1/kernel/a.c", b"kernel a\n"),
    ("linux-6.1/Makefile", b"all:\n"),
    ("linux-6.1/kernel/notes.txt", b"notes\n"),
    ("linux-6.1/drivers/x.c", b"driver x\n"),
    ("linux-6.1/fs/ext4/inode.c", b"ext4 inode\n"),
    ("linux-6.1/fs/ext4x/no.c", b"not ext4\n"),
    ("linux-6.1/kernel/sub/deep.c", b"deep\n"),
]


def assert_only(folder: Path, *names: str) -> None:
    """No temporary (.spool/.partial) file is left beside the corpus."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_tar_corpus_sorted_filtered_and_stripped(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "src.tar.xz", KERNEL_MEMBERS, links=("linux-6.1/kernel/link.c",))
    out = tmp_path / "out" / "corpus.txt"
    stats = build_tar_corpus(tarball, out, ["kernel", "mm/", "fs/ext4"], [".c", ".h"])
    assert out.read_text() == "ext4 inode\nkernel a\ndeep\nkernel z\nmm b\n"
    assert stats == {"files": 5, "bytes": len(out.read_bytes()), "replaced_files": 0, "matched_files": 5}
    assert_only(out.parent, "corpus.txt")
    # No folder filter: every .c/.h; no extension filter either: every regular file.
    build_tar_corpus(tarball, out, [], [".c", ".h"])
    assert out.read_text() == "driver x\next4 inode\nnot ext4\nkernel a\ndeep\nkernel z\nmm b\n"
    stats = build_tar_corpus(tarball, out, [], [])
    assert out.read_text().startswith("all:\ndriver x\n") and "notes\n" in out.read_text()
    assert stats["files"] == 9


def test_tar_corpus_top_folder_name_does_not_matter(tmp_path: Path) -> None:
    debian = [(name.replace("linux-6.1/", "linux-source-6.1/"), data) for name, data in KERNEL_MEMBERS]
    upstream_out, debian_out = tmp_path / "a.txt", tmp_path / "b.txt"
    build_tar_corpus(make_tarball(tmp_path / "a.tar.xz", KERNEL_MEMBERS), upstream_out, ["kernel"], [".c"])
    build_tar_corpus(make_tarball(tmp_path / "b.tar.xz", debian), debian_out, ["kernel"], [".c"])
    assert debian_out.read_text() == upstream_out.read_text() == "kernel a\ndeep\n"


@pytest.mark.parametrize("arrival", [["a", "b", "c", "d"], ["d", "c", "b", "a"], ["c", "a", "d", "b"]])
def test_tar_corpus_cap_ends_at_a_file_boundary_of_the_sorted_order(tmp_path: Path, arrival: list[str]) -> None:
    sizes = {"a": 10, "b": 10, "c": 10, "d": 3}
    members = [(f"top/src/{name}.c", name.encode() * (sizes[name] - 1) + b"\n") for name in arrival]
    tarball = make_tarball(tmp_path / "src.tar.xz", members)
    out = tmp_path / "out" / "corpus.txt"
    for max_bytes, expected in [(25, "ab"), (30, "abc"), (32, "abc"), (33, "abcd"), (0, "abcd"), (10, "a")]:
        stats = build_tar_corpus(tarball, out, ["src"], [".c"], max_bytes)
        assert out.read_text() == "".join(name * (sizes[name] - 1) + "\n" for name in expected), max_bytes
        assert stats["files"] == len(expected) and stats["matched_files"] == 4
        assert stats["bytes"] == sum(sizes[name] for name in expected)
        assert_only(out.parent, "corpus.txt")
    with pytest.raises(ValueError, match="max_bytes=9 is smaller than the first matching file"):
        build_tar_corpus(tarball, out, ["src"], [".c"], 9)


def test_tar_corpus_replaces_invalid_utf8_and_counts_the_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    members = [("k/lib/latin1.c", b"/* Fran\xe7ois */\n"), ("k/lib/ok.c", "/* café */\n".encode())]
    tarball = make_tarball(tmp_path / "src.tar.xz", members)
    out = tmp_path / "corpus.txt"
    with caplog.at_level(logging.WARNING, logger="rnnscope.data"):
        stats = build_tar_corpus(tarball, out, [], [".c"])
    assert out.read_text(encoding="utf-8") == "/* Fran\ufffdois */\n/* café */\n"
    assert stats["replaced_files"] == 1 and stats["files"] == 2
    assert "lib/latin1.c: invalid UTF-8 at byte 7" in caplog.text


def test_tar_corpus_failure_leaves_the_old_output_and_no_temporary_file(tmp_path: Path) -> None:
    tarball = make_tarball(tmp_path / "src.tar.xz", KERNEL_MEMBERS * 50)  # duplicate paths
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "corpus.txt").write_text("previous corpus\n")
    with pytest.raises(ValueError, match="holds mm/b.c twice"):
        build_tar_corpus(tarball, folder / "corpus.txt", [], [".c"])
    good = make_tarball(tmp_path / "good.tar.xz", KERNEL_MEMBERS)
    truncated = tmp_path / "truncated.tar.xz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a readable .* tar archive.*fetch it again"):
        build_tar_corpus(truncated, folder / "corpus.txt", [], [".c"])
    with pytest.raises(ValueError, match="empty corpus: no regular file matched include_dirs=\\['arch'\\]"):
        build_tar_corpus(good, folder / "corpus.txt", ["arch"], [".c"])
    assert (folder / "corpus.txt").read_text() == "previous corpus\n"
    assert_only(folder, "corpus.txt")


def test_prepare_dataset_tarball(tmp_path: Path) -> None:
    members = [(f"linux/kernel/f{i:02d}.c", f"int f{i}(void)\n{{\n\treturn {i};\n}}\n".encode()) for i in range(20)]
    tarball = make_tarball(tmp_path / "src.tar.xz", list(reversed(members)))
    out = tmp_path / "data"
    spec = {
        "kind": "tarball",
        "include_dirs": ["kernel"],
        "extensions": [".c"],
        "max_bytes": 0,
        "split": [0.9, 0.05, 0.05],
    }
    prepare_dataset(spec, [str(tarball)], out)
    corpus = "".join(data.decode() for _, data in members)
    for split, part in split_text(corpus, [0.9, 0.05, 0.05]).items():
        assert (out / f"{split}.txt").read_text() == part
    assert load_vocab(out / "vocab.json") == sorted(set(corpus))
    assert_only(out, "train.txt", "valid.txt", "test.txt", "vocab.json")  # the corpus was temporary


# ---------------------------------------------------------------- mirror stand-ins


def test_fetch_mirror_stand_in_is_checked_against_its_own_sha256_and_logged(
    tmp_path: Path, corpus_file: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    mirror, stand_in_digest = make_mirror(tmp_path)
    upstream, upstream_digest = corpus_file
    source = Source(str(upstream), upstream_digest, mirror_path="sub/corpus.txt", mirror_sha256=stand_in_digest)
    dest = tmp_path / "out.txt"
    with caplog.at_level(logging.INFO, logger="rnnscope.downloads"):
        fetch(source, dest, mirror=str(mirror))
    assert dest.read_bytes() == b"from the mirror\n"
    assert "MIRROR STAND-IN" in caplog.text and str(upstream) in caplog.text and upstream_digest in caplog.text
    # Without a mirror the upstream file is fetched and checked against the upstream sha256.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rnnscope.downloads"):
        fetch(source, dest)
    assert dest.read_bytes() == upstream.read_bytes() and "STAND-IN" not in caplog.text
    # A stand-in that is not the pinned one is refused, naming the key to fix.
    wrong = Source(str(upstream), upstream_digest, mirror_path="sub/corpus.txt", mirror_sha256="0" * 64)
    with pytest.raises(DownloadError, match="update its mirror_sha256"):
        fetch(wrong, tmp_path / "other.txt", mirror=str(mirror))


def test_fetch_mirror_without_stand_in_sha_must_be_the_upstream_file(
    tmp_path: Path, corpus_file: tuple[Path, str]
) -> None:
    mirror, _ = make_mirror(tmp_path)
    upstream, upstream_digest = corpus_file
    with pytest.raises(DownloadError, match="update its sha256"):
        fetch(
            Source(str(upstream), upstream_digest, mirror_path="sub/corpus.txt"), tmp_path / "o.txt", mirror=str(mirror)
        )


# ---------------------------------------------------------------- word-level corpora (PTB)


WORD_SPLITS = {
    "train": " the cat sat \n the dog <unk> \n",
    "valid": " the cat ran \n",  # 'ran' is not in train: it reads as <unk>
    "test": " a dog\n\n",  # 'a' too; the empty line is a lone <eos>
}


@pytest.fixture()
def word_dataset(tmp_path: Path) -> Path:
    paths = []
    for split, text in WORD_SPLITS.items():
        path = tmp_path / f"ptb.{split}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    prepare_dataset({"kind": "word_files"}, paths, tmp_path / "data")
    return tmp_path / "data"


def test_word_vocab_is_train_words_and_eos_by_frequency(word_dataset: Path) -> None:
    assert load_vocab(word_dataset / "vocab.json") == [EOS, "the", UNK, "cat", "dog", "sat"]
    assert load_level(word_dataset / "vocab.json") == "word"
    for split, text in WORD_SPLITS.items():
        assert (word_dataset / f"{split}.txt").read_text(encoding="utf-8") == text


def test_word_encode_eos_at_line_ends_and_unknown_words_as_unk(word_dataset: Path) -> None:
    vocab = load_vocab(word_dataset / "vocab.json")
    names = lambda text: [vocab[i] for i in encode(text, vocab, "word")]  # noqa: E731
    assert names(WORD_SPLITS["train"]) == ["the", "cat", "sat", EOS, "the", "dog", UNK, EOS]
    assert names(WORD_SPLITS["valid"]) == ["the", "cat", UNK, EOS]
    assert names(WORD_SPLITS["test"]) == [UNK, "dog", EOS, EOS]
    assert names("the cat") == ["the", "cat", EOS]  # a last line without newline is closed too
    with pytest.raises(ValueError, match=r"word 'ran' is not in the vocabulary, which has no <unk>"):
        encode("the ran\n", ["the", EOS], "word")


def test_word_chunks_stream_the_same_ids_as_encode(word_dataset: Path) -> None:
    vocab = load_vocab(word_dataset / "vocab.json")
    path = word_dataset / "train.txt"
    expected = encode(path.read_text(encoding="utf-8"), vocab, "word")
    chunks = list(iter_encoded_chunks(path, vocab, chunk_len=3, level="word"))
    assert [len(chunk) for chunk in chunks] == [3, 3, 2]
    assert np.concatenate(chunks).tolist() == expected
    capped = list(iter_encoded_chunks(path, vocab, chunk_len=3, max_tokens=4, level="word"))
    assert [chunk.tolist() for chunk in capped] == [expected[:3], expected[3:4]]
    with pytest.raises(ValueError, match="unknown token level 'byte'"):
        list(iter_encoded_chunks(path, vocab, chunk_len=3, level="byte"))


def test_word_files_needs_three_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one file per split"):
        prepare_dataset({"kind": "word_files"}, [str(tmp_path / "a.txt")], tmp_path / "data")


def test_char_vocab_files_keep_their_layout_and_read_as_char(tmp_path: Path) -> None:
    write_splits({"train": "ab"}, ["a", "b"], tmp_path)
    assert json.loads((tmp_path / "vocab.json").read_text()) == {"tokens": ["a", "b"]}
    assert load_level(tmp_path / "vocab.json") == "char"


MANIFEST = Path(__file__).resolve().parents[2] / "shared" / "mirror" / "MANIFEST.tsv"
CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


def test_ptb_sources_pin_the_manifest_sha256_and_upstream_url() -> None:
    import yaml

    files = yaml.safe_load(CONFIG.read_text())["datasets"]["ptb"]["files"]
    assert set(files) == {"train", "valid", "test"}
    if not MANIFEST.exists():
        pytest.skip("no shared mirror MANIFEST.tsv on this machine")
    rows = {row.split("\t")[1]: row.split("\t") for row in MANIFEST.read_text().splitlines()[1:]}
    for split, source in files.items():
        _, path, _, sha256, _, upstream, *_ = rows[source["mirror_path"]]
        assert path == f"ptb/ptb.{split}.txt"
        assert source["sha256"] == sha256
        assert upstream.startswith(source["url"] + " ")


def test_ptb_from_the_mirror_is_verified_and_has_mikolovs_counts(tmp_path: Path) -> None:
    """The real PTB: 10000 types with <unk> and <eos>; 929589/73760/82430 tokens (README of the mirror)."""
    import yaml

    mirror = MANIFEST.parent
    if not (mirror / "ptb" / "ptb.train.txt").exists():
        pytest.skip("no PTB in the shared mirror on this machine")
    files = yaml.safe_load(CONFIG.read_text())["datasets"]["ptb"]["files"]
    paths = [
        str(fetch(Source(**files[split]), tmp_path / split, mirror=str(mirror))) for split in ("train", "valid", "test")
    ]
    prepare_dataset({"kind": "word_files"}, paths, tmp_path / "data")
    vocab = load_vocab(tmp_path / "data" / "vocab.json")
    assert len(vocab) == 10000 and {EOS, UNK} <= set(vocab)
    counts = [len(encode(read_utf8(path), vocab, "word")) for path in paths]
    assert counts == [929589, 73760, 82430]
    bad = Source(url="file:///nonexistent", sha256="0" * 64, mirror_path=files["valid"]["mirror_path"])
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(bad, tmp_path / "bad", mirror=str(mirror))
