"""Write a dataset's train/valid/test splits and vocabulary."""

from rnnscope.data import prepare_dataset
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
prepare_dataset(snakemake.params.spec, snakemake.input.corpus, snakemake.params.out_dir)
