"""NLTK's part-of-speech tagger data, fetched like every dataset and handed to NLTK.

The char_text hypotheses (noun, verb) and the RNNVis detail view tag words with NLTK's averaged
perceptron tagger mapped to the universal tagset. Its four files are fetched into one folder
(``resources/nltk_data`` in the pipeline), each checked against a pinned sha256, from the first
source that has them: a folder the user names (config ``nltk_data``), the mirror's unzipped copy
(``<mirror>/nltk_data/...``, config ``mirror`` or $RNNSCOPE_MIRROR), else NLTK's upstream
package zips. Nothing is read from $NLTK_DATA or the home folder, so a run does not depend on
what an earlier ``nltk.download`` left on the machine.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rnnscope.artifacts import partial_path
from rnnscope.data import MIRROR_ENV, DownloadError, copy_with_retries, sha256_of

log = logging.getLogger(__name__)

PACKAGES_URL = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/taggers"


@dataclass(frozen=True)
class TaggerFile:
    """One file NLTK reads: its path under an nltk_data folder, its sha256 and the upstream
    package zip that holds it (under the same path without ``taggers/``)."""

    path: str
    sha256: str
    package: str

    @property
    def zip_url(self) -> str:
        return f"{PACKAGES_URL}/{self.package}.zip"

    @property
    def zip_member(self) -> str:
        return self.path.removeprefix("taggers/")


PERCEPTRON = "averaged_perceptron_tagger_eng"
TAGGER_FILES = (
    TaggerFile(
        f"taggers/{PERCEPTRON}/{PERCEPTRON}.classes.json",
        "d152ffa69d45b8357276341a3d592c6c025911d52ec0d9068d4f382560dd48b6",
        PERCEPTRON,
    ),
    TaggerFile(
        f"taggers/{PERCEPTRON}/{PERCEPTRON}.tagdict.json",
        "4c713731cb06727736962bc8cd94ad919217a040e76691059af99bc0c2c9c246",
        PERCEPTRON,
    ),
    TaggerFile(
        f"taggers/{PERCEPTRON}/{PERCEPTRON}.weights.json",
        "789e8e35f6fac656d9b7eccea29ba4e8a137cbb5b525dd31f39e4291a9e80832",
        PERCEPTRON,
    ),
    TaggerFile(
        "taggers/universal_tagset/en-ptb.map",
        "9cdfd3fefcdc3722d69f5283abc5f00b4251c834d4631d7fa80a9eb658ebe746",
        "universal_tagset",
    ),
)
# What nltk.pos_tag(..., tagset="universal") looks up.
NLTK_RESOURCES = (f"taggers/{PERCEPTRON}/", "taggers/universal_tagset/en-ptb.map")


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


def use_tagger_data(folder: str | Path | None) -> None:
    """Put ``folder`` first on NLTK's search path and check the tagger's files are there.

    ``None`` (library use outside the pipeline) searches NLTK's own default folders only.
    """
    import nltk

    if folder is not None and str(folder) not in nltk.data.path:
        nltk.data.path.insert(0, str(folder))
    for resource in NLTK_RESOURCES:
        try:
            nltk.data.find(resource)
        except LookupError:
            raise LookupError(
                f"NLTK tagger file {resource} not found in {folder or 'NLTK default folders'}. The pipeline "
                "fetches it with rule download_tagger_data into resources/nltk_data; outside the pipeline "
                "run rnnscope.tagger.fetch_tagger_data(DIR) and pass DIR"
            ) from None
