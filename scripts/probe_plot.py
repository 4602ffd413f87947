"""Heatmap of one model's held-out probe scores."""

from rnnscope.logs import configure_logging
from rnnscope.tables import plot_probe_scores

configure_logging(snakemake.log[0])
plot_probe_scores(snakemake.input.metrics, snakemake.output.plot)
