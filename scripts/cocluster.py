"""Spectral co-clustering of tokens and hidden units by expected response (RNNVis)."""

from rnnscope.coclustering import run_coclustering
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
run_coclustering(
    snakemake.input.responses,
    words_csv=snakemake.output.words_csv,
    units_csv=snakemake.output.units_csv,
    edges_csv=snakemake.output.edges_csv,
    plot_png=snakemake.output.plot_png,
    **snakemake.params.settings,
)
