"""Verified downloads: a file from its upstream URL (http(s), file:// or a local path) or a mirror,
with retries, checked against a pinned sha256 and written atomically; NLTK's tagger files
(rnnscope.tagger lists them) the same way."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rnnscope.artifacts import partial_path
from rnnscope.schema import check_settings
from rnnscope.tagger import TAGGER_FILES, TaggerFile

log = logging.getLogger(__name__)

MIRROR_ENV = "RNNSCOPE_MIRROR"


class DownloadError(RuntimeError):
    """A dataset could not be fetched from any source."""


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Source:
    """Where a file can come from: an upstream URL (http(s), file:// or a local path) and its
    path inside a mirror folder (config ``mirror`` or $RNNSCOPE_MIRROR).

    A mirror normally holds the upstream file itself, checked against ``sha256``. When it holds
    a *stand-in* instead (another file that serves the same purpose offline, e.g. a subset of a
    tarball too large to mirror), ``mirror_sha256`` pins that file: the stand-in is accepted only
    with that checksum, and using it is logged as a warning naming both files.
    """

    url: str
    sha256: str
    mirror_path: str | None = None
    mirror_sha256: str | None = None

    def __post_init__(self) -> None:
        # The widest of the sections a source comes from (sentiment.files and datasets' word_files
        # splits allow a subset).
        check_settings("datasets.<name>", self)


@dataclass(frozen=True)
class Location:
    """One place to try: where, the sha256 the file there must have, and whether it is a stand-in."""

    where: str
    sha256: str
    stand_in: bool = False


def candidate_locations(source: Source, mirror: str | None) -> list[Location]:
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    locations = []
    if mirror and source.mirror_path:
        where = str(Path(mirror) / source.mirror_path)
        locations.append(Location(where, source.mirror_sha256 or source.sha256, stand_in=bool(source.mirror_sha256)))
    locations.append(Location(source.url, source.sha256))
    return locations


def _copy_location(location: str, partial: Path, timeout: float) -> None:
    if location.startswith(("http://", "https://", "file://")):
        with urllib.request.urlopen(location, timeout=timeout) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    else:
        shutil.copyfile(location, partial)


def copy_with_retries(where: str, partial: Path, retries: int, timeout: float, errors: list[str]) -> bool:
    """Copy ``where`` (URL or local path) to ``partial``; a remote source is tried ``retries``
    times with a short back-off. False (nothing left at ``partial``, the causes appended to
    ``errors``) when every attempt failed."""
    is_remote = where.startswith(("http://", "https://"))
    for attempt in range(1, (retries if is_remote else 1) + 1):
        try:
            _copy_location(where, partial, timeout)
            return True
        except (OSError, urllib.error.URLError) as error:
            errors.append(f"{where} (attempt {attempt}): {error}")
            partial.unlink(missing_ok=True)
            if is_remote and attempt < retries:
                time.sleep(0.5 * attempt)
    return False


def fetch(source: Source, dest: str | Path, mirror: str | None = None, retries: int = 3, timeout: float = 10.0) -> Path:
    """Copy ``source`` to ``dest``, verifying its sha256; nothing is left at ``dest`` on failure.

    Sources are tried in order (mirror first, then the URL); network errors are retried
    ``retries`` times with a short back-off, each attempt bounded by ``timeout`` seconds.
    A mirror stand-in (``source.mirror_sha256`` set) is checked against its own sha256 and its
    use is logged as a warning, since what arrives at ``dest`` is then not the upstream file.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(dest)
    errors: list[str] = []
    for location in candidate_locations(source, mirror):
        where = location.where
        if copy_with_retries(where, partial, retries, timeout, errors):
            actual = sha256_of(partial)
            if actual != location.sha256:
                partial.unlink(missing_ok=True)
                key = "mirror_sha256" if location.stand_in else "sha256"
                raise DownloadError(
                    f"sha256 mismatch for {where}: expected {location.sha256}, got {actual}. "
                    "The file is corrupt or a different version; nothing was kept. Point the "
                    f"dataset at the right file or update its {key} in the config."
                )
            partial.replace(dest)
            if location.stand_in:
                log.warning(
                    "used the MIRROR STAND-IN %s (sha256 %s) -> %s, NOT the upstream file %s (sha256 %s): "
                    "results built from it describe the stand-in's content",
                    where,
                    location.sha256,
                    dest,
                    source.url,
                    source.sha256,
                )
            else:
                log.info("fetched %s -> %s (sha256 ok)", where, dest)
            return dest
    raise DownloadError(
        "could not fetch the dataset from any source:\n  "
        + "\n  ".join(errors)
        + f"\nOffline? Point at a local copy: set config key `mirror` (or ${MIRROR_ENV}) to a folder "
        f"holding {source.mirror_path or 'the file'}, or set the dataset's `url` to a local path or file:// URL."
    )


# ---------------------------------------------------------------- NLTK's tagger files


def _accept(candidate: Path, file: TaggerFile, dest: Path) -> None:
    """Move ``candidate`` to ``dest`` if its sha256 is the pinned one; otherwise an error."""
    actual = sha256_of(candidate)
    if actual != file.sha256:
        candidate.unlink(missing_ok=True)
        raise DownloadError(
            f"sha256 mismatch for {file.path}: expected {file.sha256}, got {actual}. The file is "
            "corrupt or another version of NLTK's tagger; nothing was kept. Point config key "
            "nltk_data (or the mirror) at NLTK's averaged_perceptron_tagger_eng and universal_tagset."
        )
    candidate.replace(dest)


def fetch_tagger_data(
    out_dir: str | Path,
    nltk_data: str | Path | None = None,
    mirror: str | Path | None = None,
    retries: int = 3,
    timeout: float = 10.0,
) -> list[Path]:
    """Write every file of :data:`TAGGER_FILES` under ``out_dir`` (NLTK's folder layout).

    Sources, first that has the file: ``nltk_data`` (a folder in NLTK's layout), else
    ``<mirror>/nltk_data``, else the upstream zip of the file's package (downloaded once).
    Every file is checked against its sha256 and written via a ``.partial`` name, so a failed
    run leaves no file that looks finished.
    """
    out_dir = Path(out_dir)
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    folders = [Path(nltk_data)] if nltk_data else ([Path(mirror) / "nltk_data"] if mirror else [])
    written: list[Path] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory(dir=out_dir.parent if out_dir.parent.exists() else None) as scratch:
        zips: dict[str, Path] = {}
        for file in TAGGER_FILES:
            dest = out_dir / file.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = partial_path(dest)
            local = next((folder / file.path for folder in folders if (folder / file.path).is_file()), None)
            if local is not None:
                if not copy_with_retries(str(local), partial, retries, timeout, errors):
                    raise DownloadError(f"could not copy {local}: {errors[-1]}")
                _accept(partial, file, dest)
                log.info("copied %s -> %s (sha256 ok)", local, dest)
            elif nltk_data:
                raise DownloadError(
                    f"config key nltk_data is {nltk_data}, which has no {file.path}; point it at a folder "
                    "holding NLTK's taggers (python -m nltk.downloader -d DIR averaged_perceptron_tagger_eng "
                    "universal_tagset), or set nltk_data: null to fetch them"
                )
            else:
                if file.package not in zips:
                    zip_path = Path(scratch) / f"{file.package}.zip"
                    if not copy_with_retries(file.zip_url, zip_path, retries, timeout, errors):
                        raise DownloadError(
                            f"could not fetch NLTK's {file.package} from any source:\n  "
                            + "\n  ".join(errors)
                            + f"\nOffline? Set config key `mirror` (or ${MIRROR_ENV}) to a folder holding "
                            f"nltk_data/{file.path}, or config key nltk_data to a folder holding {file.path}."
                        )
                    zips[file.package] = zip_path
                with zipfile.ZipFile(zips[file.package]) as archive, archive.open(file.zip_member) as member:
                    partial.write_bytes(member.read())
                _accept(partial, file, dest)
                log.info("extracted %s from %s -> %s (sha256 ok)", file.zip_member, file.zip_url, dest)
            written.append(dest)
    return written
