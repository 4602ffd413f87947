"""Unit rankings of one hypothesis judged by ablation, on every layer of one model."""

from rnnscope.logs import configure_logging
from rnnscope.rankings import RankingSettings, analyse_rankings

configure_logging(snakemake.log[0])
analyse_rankings(
    snakemake.input.checkpoint,
    snakemake.input.vocab,
    snakemake.input.fit_text,
    snakemake.input.fit_labels,
    snakemake.input.test_text,
    snakemake.input.test_labels,
    snakemake.wildcards.hypothesis,
    RankingSettings(**snakemake.params.settings),
    snakemake.output.table,
    snakemake.output.plot,
    model_name=snakemake.wildcards.model,
    threads=snakemake.threads,
    warmup_tokens=snakemake.params.warmup_tokens,
)
