"""RNNVis main view: memory chips, ranked word lists and signed cluster edges."""

from rnnscope.logs import configure_logging
from rnnscope.rnnvis import run_main_view

configure_logging(snakemake.log[0])
run_main_view(
    snakemake.input.responses,
    snakemake.input.words,
    snakemake.input.units,
    snakemake.input.edges,
    plot_png=snakemake.output.plot_png,
    **snakemake.params.settings,
)
