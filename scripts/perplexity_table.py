"""Collect every model's metrics into results/tables/perplexity.csv (+ .md)."""

from rnnscope.logs import configure_logging
from rnnscope.seed_tables import perplexity_table

configure_logging(snakemake.log[0])
perplexity_table(snakemake.input.metrics, snakemake.params.models, snakemake.params.datasets, snakemake.output.table)
