"""Concept erasure of one hypothesis from every layer of one model, against random erasers."""

from rnnscope.erasure import ErasureSettings, analyse_erasure
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
analyse_erasure(
    snakemake.input.checkpoint,
    snakemake.input.vocab,
    snakemake.input.fit_text,
    snakemake.input.fit_labels,
    snakemake.input.test_text,
    snakemake.input.test_labels,
    snakemake.wildcards.hypothesis,
    ErasureSettings(**snakemake.params.settings),
    snakemake.output.table,
    snakemake.output.plot,
    model_name=snakemake.wildcards.model,
    threads=snakemake.threads,
    warmup_tokens=snakemake.params.warmup_tokens,
)
