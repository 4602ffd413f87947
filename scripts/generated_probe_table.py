"""Each probe's held-out score on real and on generated text, side by side."""

from rnnscope.generated_probes import real_vs_generated_table
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
real_vs_generated_table(snakemake.input.real, snakemake.input.generated, snakemake.output.table)
