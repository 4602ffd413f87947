"""Sample text from one character model: the probe-train and probe-test streams of generated sequences."""

from rnnscope.generate import GenerateSettings, generate_text
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
generate_text(
    snakemake.input.checkpoint,
    snakemake.input.vocab,
    {"train": snakemake.output.train, "test": snakemake.output.test},
    snakemake.output.summary,
    GenerateSettings(**snakemake.params.settings),
    model_name=snakemake.wildcards.model,
    threads=snakemake.threads,
)
