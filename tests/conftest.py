import os
import sys
from pathlib import Path

import pytest

# Lets test modules share helpers (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).parent))

from rnnscope.tagger import fetch_tagger_data  # noqa: E402

SHARED_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "mirror"


def mirror_folder() -> Path | None:
    """The dataset mirror: $RNNSCOPE_MIRROR, else ../shared/mirror beside the checkout, else None."""
    configured = os.environ.get("RNNSCOPE_MIRROR")
    if configured:
        return Path(configured)
    return SHARED_MIRROR if SHARED_MIRROR.is_dir() else None


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
