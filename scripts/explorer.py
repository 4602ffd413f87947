"""The interactive explorer of the run's results: a static site in results/explorer (issue 14)."""

from pathlib import Path

from rnnscope.explorer import ExplorerSettings, build_explorer
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
site = Path(snakemake.output.index).parent  # results/explorer: the results folder is its parent
build_explorer(site.parent, site, ExplorerSettings(**snakemake.params.settings))
