"""NLTK's part-of-speech tagger data: its files (fetched like every dataset, by
rnnscope.downloads.fetch_tagger_data) and handing them to NLTK.

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
from dataclasses import dataclass
from pathlib import Path

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
                "run rnnscope.downloads.fetch_tagger_data(DIR) and pass DIR"
            ) from None
