from pathlib import Path

import pytest

from helpers import mirror_folder
from rnnscope.downloads import fetch_tagger_data


@pytest.fixture(scope="session")
def tagger_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NLTK's tagger files fetched from the mirror as rule download_tagger_data does (tests never
    touch the network, so without a mirror holding them the test is skipped)."""
    mirror = mirror_folder()
    if mirror is None or not (mirror / "nltk_data" / "taggers" / "universal_tagset" / "en-ptb.map").is_file():
        pytest.skip("NLTK's tagger files are not mirrored (set RNNSCOPE_MIRROR to a mirror with nltk_data/taggers)")
    folder = tmp_path_factory.mktemp("nltk_data")
    fetch_tagger_data(folder, mirror=mirror)
    return folder
