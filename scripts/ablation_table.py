"""Collect every model's and hypothesis's unit ablations into results/tables/ablation.csv (+ .md)."""

from rnnscope.logs import configure_logging
from rnnscope.neurons import ablation_table

configure_logging(snakemake.log[0])
ablation_table(snakemake.input.tables, snakemake.output.table, snakemake.params.settings)
