"""Write the untrained model of a configured shape (the probes' random-network baseline)."""

from rnnscope.logs import configure_logging
from rnnscope.train import TrainSettings, write_untrained_checkpoint

configure_logging(snakemake.log[0])
write_untrained_checkpoint(
    snakemake.params.data_dir,
    snakemake.params.model,
    TrainSettings(**snakemake.params.train),
    snakemake.output.checkpoint,
)
