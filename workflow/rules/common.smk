# Helpers shared by the rules files: config lookups, target lists and code dependencies.
import re
from pathlib import Path

from rnnscope import resources as estimate
from rnnscope.data import load_vocab
from rnnscope.dependencies import module_closure
from rnnscope.models import STATE_KINDS

PACKAGE_DIR = Path(workflow.basedir) / "src" / "rnnscope"
SPLITS = ["train", "valid", "test"]
PROBE_SPLITS = ["train", "test"]

MODELS = list(config["models"])
DATASETS = list(config["datasets"])
SENTIMENT_FILES = list(config["sentiment"]["files"])
SENTIMENT_MODELS = list(config["sentiment"]["models"])


def check_config():
    """Cross-references the schema cannot express; fail before any job runs."""
    for name, spec in config["models"].items():
        if spec["dataset"] not in config["datasets"]:
            raise ValueError(
                f"models.{name}.dataset is {spec['dataset']!r}, which is not in datasets "
                f"(defined: {', '.join(DATASETS) or 'none'})"
            )
    for name, spec in config["datasets"].items():
        needed = {"download": ["url", "sha256"], "text": ["path"]}.get(spec["kind"], [])
        if spec["kind"] == "word_files":
            needed = [f"files.{split}.{key}" for split in SPLITS for key in ("url", "sha256")]
        missing = [key for key in needed if not nested_value(spec, key)]
        if missing:
            raise ValueError(f"datasets.{name} has kind {spec['kind']} but no {', '.join(missing)}")


def nested_value(spec, key):
    for part in key.split("."):
        spec = spec.get(part) if isinstance(spec, dict) else None
    return spec


check_config()


wildcard_constraints:
    model="|".join(MODELS) or "no-models",
    dataset="|".join(DATASETS) or "no-datasets",
    split="|".join(SPLITS),


def code(*modules):
    """The package modules a rule's script runs (and what they import): an edit reruns the rule."""
    return module_closure(PACKAGE_DIR, "logs", *modules)


def model_spec(wildcards):
    return config["models"][wildcards.model]


def train_threads(wildcards):
    """Small models gain nothing from a second BLAS thread; let two of them train side by side."""
    return 1 if config["models"][wildcards.model]["model"]["hidden"] < 64 else 2


def train_mem_mb(wildcards, input):
    """Scaled from the model's shape, batch and the corpus (bytes of the splits ~ tokens)."""
    spec = config["models"][wildcards.model]
    corpus_bytes = sum(Path(input[split]).stat().st_size for split in SPLITS)
    return estimate.train_mem_mb(spec["model"], spec["train"], corpus_bytes, len(load_vocab(input.vocab)))


def train_runtime(wildcards, input):
    spec = config["models"][wildcards.model]
    vocab = len(load_vocab(input.vocab))  # a 10k-word softmax dominates a word model's cost
    return estimate.train_runtime_minutes(spec["model"], spec["train"], Path(input.train).stat().st_size, vocab)


def extract_mem_mb(wildcards):
    spec = config["models"][wildcards.model]
    return estimate.extract_mem_mb(spec["model"], len(extracted_kinds(wildcards.model)), config["extract"]["chunk_len"])


def dataset_of(model):
    return config["models"][model]["dataset"]


def data_files(dataset):
    folder = f"results/data/{dataset}"
    return {**{split: f"{folder}/{split}.txt" for split in SPLITS}, "vocab": f"{folder}/vocab.json"}


def extracted_kinds(model):
    cell = config["models"][model]["model"]["cell"]
    wanted = config["extract"]["kinds"]
    return [kind for kind in STATE_KINDS[cell] if wanted == "all" or kind in wanted]


def cluster_columns(model):
    """State columns (``l{layer}_{kind}``) that get expected responses and co-clusters."""
    layers = config["models"][model]["model"]["layers"]
    kinds = [k for k in extracted_kinds(model) if k in config["cluster"]["kinds"]]
    return [f"l{layer}_{kind}" for layer in range(layers) for kind in kinds]


def counting_models():
    return [m for m in MODELS if config["datasets"][dataset_of(m)]["kind"] == "counting"]


def probed_models():
    """Models whose dataset has a hypothesis set: they get labels and diagnostic classifiers."""
    return [m for m in MODELS if config["datasets"][dataset_of(m)]["hypotheses"] != "none"]


def reference_models():
    """Models that follow a published PTB word model: rows of the word-LM perplexity table."""
    return [m for m in MODELS if config["models"][m].get("reference")]


def text_models():
    """Models on natural text or code: the ones RNNVis-style word x unit analyses apply to."""
    return [m for m in MODELS if m not in counting_models()]


def cluster_outputs():
    return [
        f"results/cluster/{model}/{column}/cocluster.png"
        for model in text_models()
        for column in cluster_columns(model)
    ]


def final_outputs():
    outputs = [
        "results/tables/perplexity.csv",
        "results/tables/probes.csv",
        "results/plots/training_curves.png",
        "results/tables/tiny_rnn_weights.csv",
        "results/plots/tiny_rnn_trajectories.png",
        *cluster_outputs(),
        *[f"results/plots/probes_{model}.png" for model in probed_models()],
    ]
    if reference_models():
        outputs += ["results/tables/ptb_perplexity.csv"]
    if SENTIMENT_MODELS:
        outputs += ["results/tables/sentiment.csv"]
    if counting_models():
        outputs += ["results/tables/srn_counting.csv"]
        outputs += [f"results/plots/activation_space_{m}.png" for m in counting_models()]
    return outputs


def corpus_input(wildcards):
    spec = config["datasets"][wildcards.dataset]
    if spec["kind"] == "word_files":
        return [f"resources/downloads/{wildcards.dataset}/{split}.txt" for split in SPLITS]
    return {"download": [f"resources/downloads/{wildcards.dataset}"], "text": [spec["path"]]}.get(spec["kind"], [])


def counting_inputs(wildcards):
    dataset = dataset_of(wildcards.model)
    return {
        "train_states": f"results/states/{wildcards.model}/train.parquet",
        "train_labels": f"results/labels/{dataset}/train.parquet",
        "test_states": f"results/states/{wildcards.model}/test.parquet",
        "test_labels": f"results/labels/{dataset}/test.parquet",
        "train_metrics": f"results/train/{wildcards.model}/metrics.json",
        "code": code("counting"),
    }
