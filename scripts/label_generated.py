"""Label each sample of a model's generated split on its own (aligned with its states)."""

from rnnscope.generate import label_generated
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
label_generated(
    snakemake.input.text,
    snakemake.params.primer,
    snakemake.params.length,
    snakemake.params.hypothesis_set,
    snakemake.output.labels,
    tagger_data=snakemake.params.tagger_data,
)
