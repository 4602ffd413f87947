# The plan (rnnscope.plan: which models each stage covers, paths, targets, config cross-checks) and
# the adapters that need Snakemake objects: wildcards, input files, the workflow folder.
import re
from pathlib import Path

from rnnscope import resources as estimate
from rnnscope.dependencies import module_closure
from rnnscope.plan import PROBE_SPLITS, SPLITS, STATE_COLUMN_PATTERN, TAGGER_DIR, Plan, clustered, data_files, tagger_files
from rnnscope.text import load_vocab

PACKAGE_DIR = Path(workflow.basedir) / "src" / "rnnscope"

PLAN = Plan(config)
PLAN.check()


wildcard_constraints:
    model="|".join(PLAN.language_models() + PLAN.sentiment_models) or "no-models",
    dataset="|".join(PLAN.datasets) or "no-datasets",
    split="|".join(SPLITS),


def code(*modules):
    """The package modules a rule's script runs (and what they import): an edit reruns the rule."""
    return module_closure(PACKAGE_DIR, "logs", *modules)


def train_threads(wildcards):
    return PLAN.train_threads(wildcards.model)


def train_mem_mb(wildcards, input):
    """Scaled from the model's shape, batch and the corpus (bytes of the splits ~ tokens)."""
    spec = config["models"][wildcards.model]
    corpus_bytes = sum(Path(input[split]).stat().st_size for split in SPLITS)
    return estimate.train_mem_mb(spec["model"], spec["train"], corpus_bytes, len(load_vocab(input.vocab)))


def train_runtime(wildcards, input):
    spec = config["models"][wildcards.model]
    vocab = len(load_vocab(input.vocab))  # a 10k-word softmax dominates a word model's cost
    return estimate.train_runtime_minutes(spec["model"], spec["train"], Path(input.train).stat().st_size, vocab)


def extract_mem_mb(wildcards, input):
    shape = PLAN.model_shape(wildcards.model)
    kinds = len(PLAN.extracted_kinds(wildcards.model))
    return estimate.extract_mem_mb(shape, kinds, config["extract"]["chunk_len"], len(load_vocab(input.vocab)))


def corpus_input(wildcards):
    return PLAN.corpus_input(wildcards.dataset)


def prepare_runtime(wildcards, input):
    """Scaled from the size of the file the dataset is built from (a tarball expands ~10x)."""
    spec = config["datasets"][wildcards.dataset]
    input_bytes = sum(Path(path).stat().st_size for path in input.corpus)
    return estimate.prepare_runtime_minutes(input_bytes, compressed=spec["kind"] == "tarball")


def label_spread_mem_mb(wildcards, input):
    """The whole split is labelled: memory follows its size (bytes bound its characters)."""
    return estimate.label_mem_mb(Path(input.text).stat().st_size)


def probe_rows(wildcards):
    return PLAN.probe_rows(wildcards.model)


def counting_inputs(wildcards):
    return PLAN.counting_inputs(wildcards.model)


def comparison_inputs(wildcards):
    return PLAN.comparison_inputs(wildcards.a, wildcards.b, wildcards.column)


def explorer_inputs(wildcards):
    return PLAN.explorer_inputs(sorted(str(p) for p in (PACKAGE_DIR / "explorer_static").iterdir()))
