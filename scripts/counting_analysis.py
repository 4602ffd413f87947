"""Seed 000 figures for one counting model: summary, per-n table and activation-space plot."""

from rnnscope.counting import counting_summary, plot_activation_space
from rnnscope.logs import configure_logging

configure_logging(snakemake.log[0])
counting_summary(
    snakemake.input.train_states,
    snakemake.input.train_labels,
    snakemake.input.test_states,
    snakemake.input.test_labels,
    snakemake.input.train_metrics,
    task=snakemake.params.task,
    n_train_max=snakemake.params.n_train_max,
    det_threshold=snakemake.params.det_threshold,
    summary_json=snakemake.output.summary,
    per_n_csv=snakemake.output.per_n,
)
plot_activation_space(
    snakemake.input.test_states, snakemake.input.test_labels, snakemake.params.n_train_max, snakemake.output.plot
)
