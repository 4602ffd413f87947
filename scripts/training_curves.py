"""Plot train and valid loss per epoch for every model."""

from rnnscope.logs import configure_logging
from rnnscope.tables import plot_training_curves

configure_logging(snakemake.log[0])
plot_training_curves(snakemake.input.histories, snakemake.output.plot)
