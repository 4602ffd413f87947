"""Fetch one dataset file (mirror, local path, file:// or upstream URL), verifying its sha256."""

from rnnscope.downloads import Source, fetch
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
fetch(
    Source(**snakemake.params.source),
    snakemake.output[0],
    mirror=snakemake.params.mirror,
    retries=snakemake.params.network["retries"],
    timeout=snakemake.params.network["timeout_s"],
)
