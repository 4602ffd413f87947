"""results/tables/erasure.csv: every erasure of every model and hypothesis."""

from rnnscope.erasure import erasure_table
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
erasure_table(snakemake.input.tables, snakemake.output.table, snakemake.params.settings, snakemake.params.warmup_tokens)
