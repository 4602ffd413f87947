"""RNNVis sequence glyphs of the configured sentences for one model and state column."""

from rnnscope.glyphs import run_glyphs
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
run_glyphs(
    snakemake.input.checkpoint,
    snakemake.input.vocab,
    snakemake.input.units,
    glyphs_csv=snakemake.output.glyphs_csv,
    glyphs_png=snakemake.output.glyphs_png,
    **snakemake.params.settings,
)
