"""Train one language model and write its checkpoint, metrics and per-epoch history."""

from rnnscope.logs import configure_logging
from rnnscope.train import TrainSettings, train_language_model

configure_logging(snakemake.log[0])
train_language_model(
    snakemake.params.data_dir,
    snakemake.params.model,
    TrainSettings(**snakemake.params.train),
    snakemake.output.checkpoint,
    snakemake.output.metrics,
    snakemake.output.history,
    model_name=snakemake.wildcards.model,
    threads=snakemake.threads,
)
