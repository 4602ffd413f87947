# rnnscope: train recurrent networks, then open them up. This file is the table of contents;
# each stage lives in workflow/rules/<stage>.smk and calls one thin script in scripts/.
from snakemake.utils import min_version, validate

from rnnscope.config_schema import reject_removed_keys

min_version("9.0")


configfile: "config/config.yaml"


reject_removed_keys(config)
validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/label.smk"
include: "workflow/rules/probe.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/rnnvis.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/neurons.smk"
include: "workflow/rules/erasure.smk"
include: "workflow/rules/seeds.smk"
include: "workflow/rules/sentiment.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/explorer.smk"


rule all:
    input:
        PLAN.final_outputs(),
        "results/tables/benchmarks.csv",
    default_target: True
