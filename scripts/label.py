"""Label every character of a split with the configured hypothesis set (aligned with its states)."""

from rnnscope.hypotheses import label_split
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
label_split(
    snakemake.input.text,
    snakemake.params.hypothesis_set,
    snakemake.output.labels,
    snakemake.params.max_tokens,
    tagger_data=snakemake.params.tagger_data,
    **snakemake.params.rows,
)
