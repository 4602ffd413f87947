"""Seed 004: train the 1-1-1 sigmoid RNN online on the configured bit sequences and plot its weights."""

from rnnscope.logs import configure_logging
from rnnscope.tiny_rnn import reproduce

configure_logging(snakemake.log[0])
reproduce(
    snakemake.params.sequences,
    snakemake.params.eta,
    snakemake.params.alternating,
    snakemake.output.weights,
    snakemake.output.trajectories,
    snakemake.output.alternating,
    snakemake.output.plot,
)
