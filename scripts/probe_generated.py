"""Fit the diagnostic classifiers on a model's generated probe-train text, score them on its probe-test text."""

from rnnscope.generated_probes import probe_generated_text
from rnnscope.logs import configure_logging
from rnnscope.probes import ProbeSettings

configure_logging(snakemake.log[0])
probe_generated_text(
    snakemake.input.train_states,
    snakemake.input.test_states,
    snakemake.input.train_labels,
    snakemake.input.test_labels,
    ProbeSettings(**snakemake.params.settings),
    snakemake.output.metrics,
    snakemake.output.weights,
    model=snakemake.wildcards.model,
)
