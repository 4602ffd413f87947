"""Seeds 001/002's Yelp findings beside what our sentiment models' RNNVis views measure."""

from rnnscope.logs import configure_logging
from rnnscope.sentiment_views import run_sentiment_views_table

configure_logging(snakemake.log[0])
run_sentiment_views_table(
    snakemake.params.models,
    snakemake.input.train,
    snakemake.input.vocab,
    snakemake.input.responses,
    snakemake.input.words,
    snakemake.input.units,
    snakemake.input.edges,
    snakemake.input.glyphs,
    snakemake.input.checkpoints,
    threshold=snakemake.params.threshold,
    csv_path=snakemake.output.table,
)
