"""Judge every model's and hypothesis's unit rankings by their ablations: results/tables/neuron_rankings.csv (+ .md)."""

from rnnscope.logs import configure_logging
from rnnscope.rankings import neuron_rankings_table

configure_logging(snakemake.log[0])
neuron_rankings_table(snakemake.input.tables, snakemake.output.table, snakemake.params.settings)
