"""States of a sentiment classifier over the train sentences, each from the zero state (Parquet)."""

from rnnscope.logs import configure_logging
from rnnscope.sentence_states import extract_sentence_states

configure_logging(snakemake.log[0])
extract_sentence_states(
    snakemake.input.checkpoint,
    snakemake.input.train,
    snakemake.input.vocab,
    snakemake.output.states,
    model_name=snakemake.wildcards.sentiment_model,
    kinds=snakemake.params.kinds,
    max_tokens=snakemake.params.max_tokens,
    threads=snakemake.threads,
)
