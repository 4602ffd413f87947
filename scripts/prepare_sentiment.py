"""Pool Shen et al.'s Yelp polarity files, split them with a fixed seed, write the vocabulary."""

from pathlib import Path

from rnnscope.logs import configure_logging
from rnnscope.sentiment import prepare_sentiment

configure_logging(snakemake.log[0])
settings = snakemake.params.settings
prepare_sentiment(
    snakemake.input.files,
    settings["split"],
    settings["seed"],
    settings["vocab_size"],
    Path(snakemake.output.vocab).parent,
)
