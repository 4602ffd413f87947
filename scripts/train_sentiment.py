"""Train one sentence-sentiment classifier; write checkpoint, metrics and per-epoch history."""

from pathlib import Path

from rnnscope.logs import configure_logging
from rnnscope.sentiment_training import train_sentiment

configure_logging(snakemake.log[0])
train_sentiment(
    Path(snakemake.input.vocab).parent,
    snakemake.params.model,
    snakemake.params.train,
    snakemake.output.checkpoint,
    snakemake.output.metrics,
    snakemake.output.history,
    model_name=snakemake.wildcards.sentiment_model,
    threads=snakemake.threads,
)
