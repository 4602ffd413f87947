"""Fetch NLTK's part-of-speech tagger files (config folder, mirror or upstream zips), sha256-checked."""
from rnnscope.logs import configure_logging
from rnnscope.tagger import fetch_tagger_data

configure_logging(snakemake.log[0])
fetch_tagger_data(
    snakemake.params.out_dir,
    nltk_data=snakemake.params.nltk_data,
    mirror=snakemake.params.mirror,
    retries=snakemake.params.network["retries"],
    timeout=snakemake.params.network["timeout_s"],
)
