"""Two models side by side: RNNVis main views, glyphs and the overlap of their word clusters."""

from rnnscope.logs import configure_logging
from rnnscope.rnnvis import run_comparison

configure_logging(snakemake.log[0])
run_comparison(
    responses=snakemake.input.responses,
    word_clusters=snakemake.input.words,
    unit_clusters=snakemake.input.units,
    edges=snakemake.input.edges,
    glyphs=snakemake.input.glyphs,
    overlap_csv=snakemake.output.overlap_csv,
    summary_csv=snakemake.output.summary_csv,
    plot_png=snakemake.output.plot_png,
    **snakemake.params.settings,
)
