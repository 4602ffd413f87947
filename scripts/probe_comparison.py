"""Our probes on generated text (the seed's protocol) beside seed 003's Figures 3-6, with real text and the baselines."""

from rnnscope.logs import configure_logging
from rnnscope.seed_tables import probe_comparison

configure_logging(snakemake.log[0])
probe_comparison(snakemake.input.probes, snakemake.params.models, snakemake.params.generate, snakemake.output.table)
