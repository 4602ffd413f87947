"""NLTK's tagger files fetched like a dataset: sources in order, pinned sha256, clear errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import rnnscope.tagger
from helpers import mirror_folder
from rnnscope.config_schema import reject_removed_keys
from rnnscope.downloads import DownloadError, fetch_tagger_data, sha256_of
from rnnscope.hypotheses import part_of_speech_labels
from rnnscope.tagger import TAGGER_FILES, use_tagger_data


def mirrored_tagger() -> Path:
    mirror = mirror_folder()
    if mirror is None or not all((mirror / "nltk_data" / file.path).is_file() for file in TAGGER_FILES):
        pytest.skip("NLTK's tagger files are not mirrored (set RNNSCOPE_MIRROR)")
    return mirror


def assert_fetched(folder: Path) -> None:
    for file in TAGGER_FILES:
        assert sha256_of(folder / file.path) == file.sha256
    assert not list(folder.rglob("*.partial"))


def test_from_the_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = mirrored_tagger()
    monkeypatch.delenv("RNNSCOPE_MIRROR", raising=False)
    written = fetch_tagger_data(tmp_path / "nltk_data", mirror=mirror)
    assert sorted(written) == sorted(tmp_path / "nltk_data" / file.path for file in TAGGER_FILES)
    assert_fetched(tmp_path / "nltk_data")


def test_from_the_upstream_zips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No mirror, no folder: the files come out of NLTK's package zips (served here via file://)."""
    mirror = mirrored_tagger()
    packages = tmp_path / "packages"
    packages.mkdir()
    for package in {file.package for file in TAGGER_FILES}:
        with zipfile.ZipFile(packages / f"{package}.zip", "w") as archive:
            for file in (file for file in TAGGER_FILES if file.package == package):
                archive.write(mirror / "nltk_data" / file.path, file.zip_member)
            archive.writestr(f"{package}/unused.txt", "not extracted")
    monkeypatch.setattr(rnnscope.tagger, "PACKAGES_URL", packages.as_uri())
    monkeypatch.delenv("RNNSCOPE_MIRROR", raising=False)
    fetch_tagger_data(tmp_path / "out", retries=1)
    assert_fetched(tmp_path / "out")
    assert not (tmp_path / "out" / "taggers" / "universal_tagset" / "unused.txt").exists()


def test_a_configured_folder_wins_and_must_hold_every_file(tmp_path: Path) -> None:
    mirror = mirrored_tagger()
    fetch_tagger_data(tmp_path / "configured", nltk_data=mirror / "nltk_data", mirror=tmp_path / "no-mirror")
    assert_fetched(tmp_path / "configured")
    partial_copy = tmp_path / "partial_copy"
    (partial_copy / "taggers").mkdir(parents=True)
    with pytest.raises(
        DownloadError, match="config key nltk_data is .*partial_copy, which has no taggers/.*nltk_data: null"
    ):
        fetch_tagger_data(tmp_path / "out", nltk_data=partial_copy, mirror=mirror)


def test_a_wrong_file_is_refused_and_nothing_kept(tmp_path: Path) -> None:
    folder = tmp_path / "corrupt"
    for file in TAGGER_FILES:
        (folder / file.path).parent.mkdir(parents=True, exist_ok=True)
        (folder / file.path).write_text("not the tagger")
    with pytest.raises(
        DownloadError, match=f"sha256 mismatch for {TAGGER_FILES[0].path}: expected {TAGGER_FILES[0].sha256}"
    ):
        fetch_tagger_data(tmp_path / "out", nltk_data=folder)
    assert not list((tmp_path / "out").rglob("*.*"))


def test_offline_without_a_source_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rnnscope.tagger, "PACKAGES_URL", (tmp_path / "nowhere").as_uri())
    monkeypatch.delenv("RNNSCOPE_MIRROR", raising=False)
    with pytest.raises(DownloadError, match=r"(?s)could not fetch NLTK.s .*Offline\? Set config key `mirror`"):
        fetch_tagger_data(tmp_path / "out", retries=1)


def test_tagging_reads_only_the_fetched_folder(
    tagger_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NLTK's search path emptied (no $NLTK_DATA, no ~/nltk_data), the fetched folder suffices."""
    import nltk

    monkeypatch.setattr(nltk.data, "path", [])
    frame = part_of_speech_labels("The cat sat.", tagger_data)
    assert frame["noun"].tolist()[4:7] == [True] * 3 and frame["verb"].tolist()[8:11] == [True] * 3
    monkeypatch.setattr(nltk.data, "path", [])
    with pytest.raises(LookupError, match="rule download_tagger_data into resources/nltk_data"):
        use_tagger_data(tmp_path / "empty")


def test_the_removed_rnnvis_key_names_its_replacement() -> None:
    with pytest.raises(ValueError, match="rnnvis.nltk_data was removed; use the top-level key nltk_data"):
        reject_removed_keys({"rnnvis": {"nltk_data": "/x"}})
    reject_removed_keys({"rnnvis": {"pos_tags": True}, "nltk_data": None})
