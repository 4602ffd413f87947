# Helpers shared by the rules files: config lookups, target lists and code dependencies.
import re
from pathlib import Path

from rnnscope import resources as estimate
from rnnscope.dependencies import module_closure
from rnnscope.models import STATE_KINDS, UNTRAINED_SUFFIX
from rnnscope.tagger import TAGGER_FILES
from rnnscope.text import load_vocab

PACKAGE_DIR = Path(workflow.basedir) / "src" / "rnnscope"
SPLITS = ["train", "valid", "test"]
PROBE_SPLITS = ["train", "test"]

MODELS = list(config["models"])
DATASETS = list(config["datasets"])
SENTIMENT_FILES = list(config["sentiment"]["files"])
SENTIMENT_MODELS = list(config["sentiment"]["models"])
# Models whose dataset has a hypothesis set get labels and probes, and so does the untrained
# baseline "<model>_untrained" of each (its states come from the untrained checkpoint).
PROBED_MODELS = [m for m in MODELS if config["datasets"].get(config["models"][m]["dataset"], {}).get("hypotheses") != "none"]
PROBED_MODELS += [model + UNTRAINED_SUFFIX for model in PROBED_MODELS]
# Names whose states the extract rule writes (the language models and their untrained baselines).
LANGUAGE_MODELS = MODELS + [m for m in PROBED_MODELS if m not in MODELS]


def check_config():
    """Cross-references the schema cannot express; fail before any job runs."""
    for name, spec in config["models"].items():
        if name.endswith(UNTRAINED_SUFFIX):
            raise ValueError(
                f"model name {name!r} ends with {UNTRAINED_SUFFIX!r}, which names the untrained baseline "
                f"of model {name.removesuffix(UNTRAINED_SUFFIX)!r}; rename it"
            )
        if spec["dataset"] not in config["datasets"]:
            raise ValueError(
                f"models.{name}.dataset is {spec['dataset']!r}, which is not in datasets "
                f"(defined: {', '.join(DATASETS) or 'none'})"
            )
    for name, spec in config["datasets"].items():
        needed = {"download": ["url", "sha256"], "tarball": ["url", "sha256"], "text": ["path"]}.get(spec["kind"], [])
        if spec["kind"] == "word_files":
            needed = [f"files.{split}.{key}" for split in SPLITS for key in ("url", "sha256")]
        missing = [key for key in needed if not nested_value(spec, key)]
        if missing:
            raise ValueError(f"datasets.{name} has kind {spec['kind']} but no {', '.join(missing)}")
    clash = sorted(set(SENTIMENT_MODELS) & set(MODELS))
    if clash:
        raise ValueError(f"sentiment.models and models both name {clash}; results live under a model's name: rename one")
    if SENTIMENT_MODELS and not ("h" in config["cluster"]["kinds"] and (config["extract"]["kinds"] == "all" or "h" in config["extract"]["kinds"])):
        raise ValueError("sentiment.views reads the clusters of the hidden state h: keep h in cluster.kinds and extract.kinds")
    unknown = [model for model in config["cluster"]["models"] if model not in config["models"]]
    if unknown:
        raise ValueError(f"cluster.models names {unknown}, which are not in models (defined: {', '.join(MODELS)})")
    for pair in config["rnnvis"]["compare"]:
        unknown = [model for model in pair if model not in config["models"]]
        if unknown or pair[0] == pair[1]:
            raise ValueError(
                f"rnnvis.compare pair {pair} must name two different models of models "
                f"(unknown: {unknown or 'none'}; defined: {', '.join(MODELS)})"
                " or set rnnvis.compare: [] to compare none"
            )
        counting = [m for m in pair if config["datasets"][config["models"][m]["dataset"]]["kind"] == "counting"]
        if counting:
            raise ValueError(f"rnnvis.compare pair {pair}: {counting} are counting models; RNNVis views need text models")


def nested_value(spec, key):
    for part in key.split("."):
        spec = spec.get(part) if isinstance(spec, dict) else None
    return spec


check_config()


wildcard_constraints:
    model="|".join(LANGUAGE_MODELS + SENTIMENT_MODELS) or "no-models",
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


def extract_mem_mb(wildcards, input):
    spec = config["models"][trained_name(wildcards.model)]
    kinds = len(extracted_kinds(wildcards.model))
    return estimate.extract_mem_mb(spec["model"], kinds, config["extract"]["chunk_len"], len(load_vocab(input.vocab)))


def trained_name(model):
    """The config model behind a probed model name (``<model>_untrained`` -> ``<model>``)."""
    return model.removesuffix(UNTRAINED_SUFFIX)


def checkpoint_of(model):
    if model in SENTIMENT_MODELS:
        return f"results/sentiment/{model}/model.pt"
    if model.endswith(UNTRAINED_SUFFIX):
        return f"results/untrained/{trained_name(model)}/model.pt"
    return f"results/train/{model}/model.pt"


def dataset_of(model):
    return config["models"][trained_name(model)]["dataset"]


def model_shape(model):
    """Shape settings (cell, layers, hidden, ...) of a language model, its untrained baseline or a
    sentiment classifier."""
    if model in SENTIMENT_MODELS:
        return config["sentiment"]["models"][model]["model"]
    return config["models"][trained_name(model)]["model"]


def vocab_of(model):
    return "results/sentiment/data/vocab.json" if model in SENTIMENT_MODELS else data_files(dataset_of(model))["vocab"]


def view_settings(model):
    """What a model's RNNVis views show: glyph sentences, detail tokens and how many of the most
    frequent tokens are co-clustered; a sentiment model has its own (sentiment.views)."""
    if model in SENTIMENT_MODELS:
        return config["sentiment"]["views"]
    return {**{k: config["rnnvis"][k] for k in ("sentences", "detail_tokens")}, "max_tokens": config["cluster"]["max_tokens"]}


def top_hidden_column(model):
    """The top layer's hidden-state column, which sentiment_views.csv reads."""
    return f"l{model_shape(model)['layers'] - 1}_h"


TAGGER_DIR = "resources/nltk_data"


def tagger_files(wildcards=None):
    """NLTK's tagger files (rule download_tagger_data)."""
    return [f"{TAGGER_DIR}/{file.path}" for file in TAGGER_FILES]


def tags_pos(dataset):
    """Only char_text labels use the part-of-speech tagger, so only they depend on its files."""
    return config["datasets"][dataset]["hypotheses"] == "char_text"


def data_files(dataset):
    folder = f"results/data/{dataset}"
    return {**{split: f"{folder}/{split}.txt" for split in SPLITS}, "vocab": f"{folder}/vocab.json"}


def extracted_kinds(model):
    cell = model_shape(model)["cell"]
    wanted = config["extract"]["kinds"]
    return [kind for kind in STATE_KINDS[cell] if wanted == "all" or kind in wanted]


def cluster_columns(model):
    """State columns (``l{layer}_{kind}``) that get expected responses and co-clusters."""
    layers = model_shape(model)["layers"]
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


def generation_models():
    """Character models whose text is sampled and probed (seed 003): config generate.hypothesis_sets."""
    return [m for m in text_models() if config["datasets"][dataset_of(m)]["hypotheses"] in config["generate"]["hypothesis_sets"]]


def neuron_targets():
    """(model, hypothesis) pairs whose most responsible neurons are shown and ablated: config
    neurons.hypotheses lists the hypotheses per hypothesis set."""
    chosen = config["neurons"]["hypotheses"]
    return [(m, h) for m in text_models() for h in chosen.get(config["datasets"][dataset_of(m)]["hypotheses"], [])]


def clustered_models():
    """Models that get expected responses, co-clusters and RNNVis views: the text models of config
    cluster.models and every sentiment model."""
    chosen = config["cluster"]["models"]
    return [m for m in text_models() if not chosen or m in chosen] + SENTIMENT_MODELS


def cluster_outputs():
    return [
        f"results/cluster/{model}/{column}/cocluster.png"
        for model in clustered_models()
        for column in cluster_columns(model)
    ]


def cluster_title(model, column):
    """Which model, layer, state and cluster config a figure or table comes from."""
    layer, kind = column.removeprefix("l").split("_")
    settings = config["cluster"]
    corpus = "Yelp sentences, each from the zero state" if model in SENTIMENT_MODELS else dataset_of(model)
    return (
        f"{model} ({model_shape(model)['cell']}, {corpus}) layer {layer} "
        f"{'hidden state h' if kind == 'h' else 'cell state c'}; train split, tokens seen >= "
        f"{settings['min_count']} times, {view_settings(model)['max_tokens']} most frequent co-clustered into "
        f"{settings['n_clusters']} clusters ({settings['mode']} mode, seed {settings['seed']})"
    )


def compare_pairs():
    """(model a, model b, column) for every configured pair and every state column both have."""
    return [
        (a, b, column)
        for a, b in config["rnnvis"]["compare"]
        for column in cluster_columns(a)
        if column in cluster_columns(b)
    ]


def rnnvis_outputs():
    outputs = [
        f"results/rnnvis/{model}/{column}/{name}"
        for model in clustered_models()
        for column in cluster_columns(model)
        for name in ("main_view.png", "glyphs.png", "detail.png")
    ]
    outputs += [f"results/rnnvis/compare/{a}__{b}/{column}/compare.png" for a, b, column in compare_pairs()]
    return outputs


def final_outputs():
    outputs = [
        "results/tables/perplexity.csv",
        "results/tables/probes.csv",
        "results/tables/probes_by_seed.csv",
        "results/tables/probe_comparison.csv",
        "results/plots/training_curves.png",
        "results/tables/tiny_rnn_weights.csv",
        "results/plots/tiny_rnn_trajectories.png",
        *cluster_outputs(),
        *rnnvis_outputs(),
        *[f"results/plots/probes_{model}.png" for model in probed_models()],
    ]
    if generation_models():
        outputs += ["results/tables/probes_generated.csv"]
    if neuron_targets():
        outputs += ["results/tables/ablation.csv"]
        outputs += [f"results/neurons/{m}/{h}/heatmap.png" for m, h in neuron_targets()]
    if reference_models():
        outputs += ["results/tables/ptb_perplexity.csv"]
    if SENTIMENT_MODELS:
        outputs += ["results/tables/sentiment.csv", "results/tables/sentiment_views.csv"]
    if counting_models():
        outputs += ["results/tables/srn_counting.csv"]
        outputs += [f"results/plots/activation_space_{m}.png" for m in counting_models()]
    if clustered_models():
        outputs += ["results/explorer/index.html"]  # the interactive explorer (workflow/rules/explorer.smk)
    return outputs


def corpus_input(wildcards):
    spec = config["datasets"][wildcards.dataset]
    if spec["kind"] == "word_files":
        return [f"resources/downloads/{wildcards.dataset}/{split}.txt" for split in SPLITS]
    download = [f"resources/downloads/{wildcards.dataset}"]
    return {"download": download, "tarball": download, "text": [spec["path"]]}.get(spec["kind"], [])


def prepare_runtime(wildcards, input):
    """Scaled from the size of the file the dataset is built from (a tarball expands ~10x)."""
    spec = config["datasets"][wildcards.dataset]
    input_bytes = sum(Path(path).stat().st_size for path in input.corpus)
    return estimate.prepare_runtime_minutes(input_bytes, compressed=spec["kind"] == "tarball")


def split_tokens(dataset, split):
    """Tokens extracted (and labelled) of a dataset's split: the dataset's own max_tokens entry,
    else extract.max_tokens (0 = the whole split)."""
    own = config["datasets"][dataset].get("max_tokens") or {}
    return own[split] if own.get(split) is not None else config["extract"]["max_tokens"].get(split, 0)


def sampling_of(dataset):
    """Where a dataset's probe rows come from: its own sampling entry, else extract.sampling."""
    return config["datasets"][dataset].get("sampling") or config["extract"]["sampling"]


def spread_sampling():
    """The spread extract/label rules' ``rows`` param: both stages pass it to sampled_positions."""
    return {
        "sampling": "spread",
        "skip": config["probe"]["warmup_tokens"],  # sampled after the transients the probes leave out
        "seed": config["extract"]["seed"],
    }


def label_spread_mem_mb(wildcards, input):
    """The whole split is labelled: memory follows its size (bytes bound its characters)."""
    return estimate.label_mem_mb(Path(input.text).stat().st_size)


def probe_rows(wildcards):
    """The states and labels files a model's probes read, per its dataset's sampling."""
    dataset = dataset_of(wildcards.model)
    suffix = "_spread" if sampling_of(dataset) == "spread" else ""
    return {
        f"{split}_{kind}": f"results/{kind}/{folder}/{split}{suffix}.parquet"
        for split in PROBE_SPLITS
        for kind, folder in (("states", wildcards.model), ("labels", dataset))
    }


def counting_inputs(wildcards):
    dataset = dataset_of(wildcards.model)
    return {
        "train_states": f"results/states/{wildcards.model}/train.parquet",
        "train_labels": f"results/labels/{dataset}/train.parquet",
        "test_states": f"results/states/{wildcards.model}/test.parquet",
        "test_labels": f"results/labels/{dataset}/test.parquet",
        "train_metrics": f"results/train/{wildcards.model}/metrics.json",
    }


# State columns l{layer}_{kind} in file paths.
COLUMN_PATTERN = r"l\d+_[a-z]"


def clustered(model, column):
    """The cluster stage's outputs an RNNVis view of (model, state column) reads."""
    folder = f"results/cluster/{model}/{column}"
    return {
        "responses": f"{folder}/responses.parquet",
        "words": f"{folder}/word_clusters.csv",
        "units": f"{folder}/unit_clusters.csv",
        "edges": f"{folder}/edges.csv",
    }


def comparison_inputs(wildcards):
    """Both models' cluster-stage outputs and glyph tables for one compared state column."""
    models = (wildcards.a, wildcards.b)
    inputs = {}
    for key in ("responses", "words", "units", "edges"):
        inputs[key] = [clustered(model, wildcards.column)[key] for model in models]
    inputs["glyphs"] = [f"results/rnnvis/{model}/{wildcards.column}/glyphs.csv" for model in models]
    return inputs


def explorer_inputs(wildcards):
    """Every file the explorer reads: per view the cluster and rnnvis tables, each comparison's
    summary, the probe table and each neuron heatmap's data; the package code and page files."""
    inputs = {"static": sorted(str(p) for p in (PACKAGE_DIR / "explorer_static").iterdir())}
    inputs["views"] = [
        f"results/cluster/{model}/{column}/{name}"
        for model in clustered_models()
        for column in cluster_columns(model)
        for name in ("responses.parquet", "word_clusters.csv", "unit_clusters.csv", "edges.csv", "top_tokens.csv", "bands.parquet")
    ]
    inputs["rnnvis"] = [
        f"results/rnnvis/{model}/{column}/{name}"
        for model in clustered_models()
        for column in cluster_columns(model)
        for name in ("glyphs.csv", "pos.csv")
    ]
    inputs["compare"] = [f"results/rnnvis/compare/{a}__{b}/{column}/{name}" for a, b, column in compare_pairs() for name in ("summary.csv", "word_cluster_overlap.csv")]
    inputs["probes"] = "results/tables/probes.csv"
    inputs["neurons"] = [f"results/neurons/{m}/{h}/heatmap.json" for m, h in neuron_targets()]
    return inputs
