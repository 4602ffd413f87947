"""Fit diagnostic classifiers (probes) on one model's train states and score them on its test states."""

from rnnscope.logs import configure_logging
from rnnscope.probes import ProbeSettings, fit_probes

configure_logging(snakemake.log[0])
fit_probes(
    snakemake.input.train_states,
    snakemake.input.test_states,
    snakemake.input.train_labels,
    snakemake.input.test_labels,
    ProbeSettings(**snakemake.params.settings),
    snakemake.output.metrics,
    snakemake.output.weights,
    model=snakemake.wildcards.model,
)
