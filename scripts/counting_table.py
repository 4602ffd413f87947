"""Collect the counting models' summaries into results/tables/srn_counting.csv."""

from rnnscope.counting import counting_table
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
counting_table(snakemake.input.summaries, snakemake.output.table)
