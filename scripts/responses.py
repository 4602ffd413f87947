"""Expected response of every hidden unit to every frequent token (RNNVis), with top tokens per unit."""

from rnnscope.logs import configure_logging
from rnnscope.responses import write_responses

configure_logging(snakemake.log[0])
write_responses(
    snakemake.input.states,
    responses_parquet=snakemake.output.responses_parquet,
    top_csv=snakemake.output.top_csv,
    bands_parquet=snakemake.output.bands_parquet,
    **snakemake.params.settings,
)
