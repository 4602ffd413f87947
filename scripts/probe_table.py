"""Collect every model's probe metrics into results/tables/probes.csv (+ .md)."""

from rnnscope.logs import configure_logging
from rnnscope.tables import probe_table

configure_logging(snakemake.log[0])
probe_table(snakemake.input.metrics, snakemake.params.models, snakemake.params.datasets, snakemake.output.table)
