"""Fetch NLTK's part-of-speech tagger files (config folder, mirror or upstream zips), sha256-checked."""

from rnnscope.downloads import fetch_tagger_data
from rnnscope.logs import configure_logging
from rnnscope.tagger import TAGGER_FILES

configure_logging(snakemake.log[0])
fetch_tagger_data(
    snakemake.output[0].removesuffix(TAGGER_FILES[0].path),  # the folder the files go under
    nltk_data=snakemake.params.nltk_data,
    mirror=snakemake.params.mirror,
    retries=snakemake.params.network["retries"],
    timeout=snakemake.params.network["timeout_s"],
)
