"""RNNVis detail view: response bands of chosen tokens and the POS of co-clustered words."""

from rnnscope.logs import configure_logging
from rnnscope.rnnvis import run_detail_view

configure_logging(snakemake.log[0])
run_detail_view(
    snakemake.input.responses,
    snakemake.input.words,
    snakemake.input.units,
    snakemake.input.bands,
    pos_csv=snakemake.output.pos_csv,
    plot_png=snakemake.output.plot_png,
    **snakemake.params.settings,
)
