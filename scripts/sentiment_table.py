"""Held-out accuracy of every sentiment model: results/tables/sentiment.csv (+ .md)."""

from rnnscope.logs import configure_logging
from rnnscope.tables import sentiment_table

configure_logging(snakemake.log[0])
sentiment_table(snakemake.input.metrics, snakemake.params.models, snakemake.output.table)
