"""Sum Snakemake's per-job benchmarks per rule into results/tables/benchmarks.csv (+ .md)."""

from rnnscope.logs import configure_logging
from rnnscope.tables import benchmark_summary

configure_logging(snakemake.log[0])
benchmark_summary(snakemake.params.benchmark_dir, snakemake.output.table)
