"""Our PTB word models' perplexities beside RNNVis's and Zaremba et al.'s: results/tables/ptb_perplexity.csv (+ .md)."""

from rnnscope.logs import configure_logging
from rnnscope.tables import ptb_perplexity_table

configure_logging(snakemake.log[0])
ptb_perplexity_table(snakemake.input.metrics, snakemake.params.models, snakemake.output.table)
