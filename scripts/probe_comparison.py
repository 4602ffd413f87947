"""Our probe scores beside seed 003's Figures 3-6, with the baselines (results/tables/probe_comparison.csv + .md)."""
from rnnscope.logs import configure_logging
from rnnscope.tables import probe_comparison

configure_logging(snakemake.log[0])
probe_comparison(snakemake.input.probes, snakemake.params.models, snakemake.output.table)
