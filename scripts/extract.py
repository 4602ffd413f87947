"""Write the hidden states of one model over one split to Parquet."""

from rnnscope.extract import extract_states
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
extract_states(
    snakemake.input.checkpoint,
    snakemake.input.text,
    snakemake.input.vocab,
    snakemake.output.states,
    model_name=snakemake.wildcards.model,
    kinds=snakemake.params.kinds,
    max_tokens=snakemake.params.max_tokens,
    **snakemake.params.rows,
    **snakemake.params.streams,
    chunk_len=snakemake.params.chunk_len,
    threads=snakemake.threads,
    device=snakemake.params.device,
    segment_len=snakemake.params.segment_len,
)
