"""Most responsible neuron of one hypothesis's probes: coloured-text heatmap and unit ablations."""

from rnnscope.logs import configure_logging
from rnnscope.neurons import NeuronSettings, analyse_neurons

configure_logging(snakemake.log[0])
analyse_neurons(
    snakemake.input.checkpoint,
    snakemake.input.text,
    snakemake.input.vocab,
    snakemake.input.labels,
    snakemake.input.metrics,
    snakemake.input.weights,
    snakemake.wildcards.hypothesis,
    NeuronSettings(**snakemake.params.settings),
    snakemake.output.table,
    snakemake.output.heatmap,
    model_name=snakemake.wildcards.model,
    threads=snakemake.threads,
    warmup_tokens=snakemake.params.warmup_tokens,
    heatmap_json=snakemake.output.data,
)
