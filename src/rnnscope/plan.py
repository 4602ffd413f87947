"""What the pipeline runs, read from the validated config: which models each stage covers, their
state columns, the files a job reads and writes, the final targets, and the config cross-checks
the schema cannot express. Pure: ``workflow/rules/common.smk`` builds ``Plan(config)`` at planning
time and the rules call it; it never imports Snakemake, so it is unit-tested on plain dicts."""

from __future__ import annotations

from typing import Any

from rnnscope.states import STATE_KINDS, UNTRAINED_SUFFIX, parse_state_column, state_column
from rnnscope.tagger import TAGGER_FILES

SPLITS = ("train", "valid", "test")
PROBE_SPLITS = ("train", "test")
TAGGER_DIR = "resources/nltk_data"
# State columns l{layer}_{kind} (rnnscope.states.state_column) as a wildcard constraint in file paths.
STATE_COLUMN_PATTERN = r"l\d+_[a-z]"
# Keys a dataset kind needs beside the schema's (which cannot make them depend on the kind).
NEEDED_SOURCE_KEYS = {"download": ["url", "sha256"], "tarball": ["url", "sha256"], "text": ["path"]}
CLUSTERED_FILES = {
    "responses": "responses.parquet",
    "words": "word_clusters.csv",
    "units": "unit_clusters.csv",
    "edges": "edges.csv",
}

Config = dict[str, Any]


def trained_name(model: str) -> str:
    """The config model behind a probed model name (``<model>_untrained`` -> ``<model>``)."""
    return model.removesuffix(UNTRAINED_SUFFIX)


def data_files(dataset: str) -> dict[str, str]:
    """A prepared dataset's splits and vocabulary (rule prepare_dataset)."""
    folder = f"results/data/{dataset}"
    return {**{split: f"{folder}/{split}.txt" for split in SPLITS}, "vocab": f"{folder}/vocab.json"}


def tagger_files() -> list[str]:
    """NLTK's tagger files (rule download_tagger_data)."""
    return [f"{TAGGER_DIR}/{file.path}" for file in TAGGER_FILES]


def clustered(model: str, column: str) -> dict[str, str]:
    """The cluster stage's outputs an RNNVis view of (model, state column) reads."""
    return {key: f"results/cluster/{model}/{column}/{name}" for key, name in CLUSTERED_FILES.items()}


def _nested_value(spec: Any, key: str) -> Any:
    """``spec["a"]["b"]`` for key ``"a.b"``; None where a level is missing."""
    for part in key.split("."):
        spec = spec.get(part) if isinstance(spec, dict) else None
    return spec


class Plan:
    """The pipeline's plan for one validated config (schema defaults filled in)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.models = list(config["models"])
        self.datasets = list(config["datasets"])
        self.sentiment_files = list(config["sentiment"]["files"])
        self.sentiment_models = list(config["sentiment"]["models"])

    def check(self) -> None:
        """Cross-references the schema cannot express; fail before any job runs."""
        config = self.config
        for name, spec in config["models"].items():
            if name.endswith(UNTRAINED_SUFFIX):
                raise ValueError(
                    f"model name {name!r} ends with {UNTRAINED_SUFFIX!r}, which names the untrained baseline "
                    f"of model {name.removesuffix(UNTRAINED_SUFFIX)!r}; rename it"
                )
            if spec["dataset"] not in config["datasets"]:
                raise ValueError(
                    f"models.{name}.dataset is {spec['dataset']!r}, which is not in datasets "
                    f"(defined: {', '.join(self.datasets) or 'none'})"
                )
        for name, spec in config["datasets"].items():
            needed = NEEDED_SOURCE_KEYS.get(spec["kind"], [])
            if spec["kind"] == "word_files":
                needed = [f"files.{split}.{key}" for split in SPLITS for key in ("url", "sha256")]
            missing = [key for key in needed if not _nested_value(spec, key)]
            if missing:
                raise ValueError(f"datasets.{name} has kind {spec['kind']} but no {', '.join(missing)}")
        clash = sorted(set(self.sentiment_models) & set(self.models))
        if clash:
            raise ValueError(
                f"sentiment.models and models both name {clash}; results live under a model's name: rename one"
            )
        extracts_h = config["extract"]["kinds"] == "all" or "h" in config["extract"]["kinds"]
        if self.sentiment_models and not ("h" in config["cluster"]["kinds"] and extracts_h):
            raise ValueError(
                "sentiment.views reads the clusters of the hidden state h: keep h in cluster.kinds and extract.kinds"
            )
        unknown = [model for model in config["cluster"]["models"] if model not in config["models"]]
        if unknown:
            raise ValueError(
                f"cluster.models names {unknown}, which are not in models (defined: {', '.join(self.models)})"
            )
        for pair in config["rnnvis"]["compare"]:
            unknown = [model for model in pair if model not in config["models"]]
            if unknown or pair[0] == pair[1]:
                raise ValueError(
                    f"rnnvis.compare pair {pair} must name two different models of models "
                    f"(unknown: {unknown or 'none'}; defined: {', '.join(self.models)})"
                    " or set rnnvis.compare: [] to compare none"
                )
            counting = [m for m in pair if config["datasets"][config["models"][m]["dataset"]]["kind"] == "counting"]
            if counting:
                raise ValueError(
                    f"rnnvis.compare pair {pair}: {counting} are counting models; RNNVis views need text models"
                )

    # Which models each stage covers.

    def probed_models(self) -> list[str]:
        """Config models whose dataset has a hypothesis set: they get labels and diagnostic classifiers."""
        return [m for m in self.models if self.hypothesis_set(self.dataset_of(m)) != "none"]

    def probed_models_with_baselines(self) -> list[str]:
        """The probed models, then the untrained baseline ``<model>_untrained`` of each (its states
        come from the untrained checkpoint): every name the probe table reads."""
        probed = self.probed_models()
        return probed + [model + UNTRAINED_SUFFIX for model in probed]

    def language_models(self) -> list[str]:
        """Names whose states the extract rule writes: the config models and the untrained baselines."""
        return self.models + [model + UNTRAINED_SUFFIX for model in self.probed_models()]

    def counting_models(self) -> list[str]:
        return [m for m in self.models if self.config["datasets"][self.dataset_of(m)]["kind"] == "counting"]

    def reference_models(self) -> list[str]:
        """Models that follow a published PTB word model: rows of the word-LM perplexity table."""
        return [m for m in self.models if self.config["models"][m].get("reference")]

    def text_models(self) -> list[str]:
        """Models on natural text or code: the ones RNNVis-style word x unit analyses apply to."""
        counting = self.counting_models()
        return [m for m in self.models if m not in counting]

    def generation_models(self) -> list[str]:
        """Character models whose text is sampled and probed (seed 003): config generate.hypothesis_sets."""
        chosen = self.config["generate"]["hypothesis_sets"]
        return [m for m in self.text_models() if self.hypothesis_set(self.dataset_of(m)) in chosen]

    def neuron_targets(self) -> list[tuple[str, str]]:
        """(model, hypothesis) pairs whose most responsible neurons are shown and ablated: config
        neurons.hypotheses lists the hypotheses per hypothesis set."""
        chosen = self.config["neurons"]["hypotheses"]
        return [(m, h) for m in self.text_models() for h in chosen.get(self.hypothesis_set(self.dataset_of(m)), [])]

    def ranking_targets(self) -> list[tuple[str, str]]:
        """(model, hypothesis) pairs whose unit rankings are judged by ablation (config
        rankings.enabled): the pairs of :meth:`neuron_targets`."""
        return self.neuron_targets() if self.config["rankings"]["enabled"] else []

    def erasure_targets(self) -> list[tuple[str, str]]:
        """(model, hypothesis) pairs whose hypothesis is erased from every layer (config
        erasure.enabled): the pairs of :meth:`neuron_targets`, the causal tests side by side."""
        return self.neuron_targets() if self.config["erasure"]["enabled"] else []

    def clustered_models(self) -> list[str]:
        """Models that get expected responses, co-clusters and RNNVis views: the text models of config
        cluster.models and every sentiment model."""
        chosen = self.config["cluster"]["models"]
        return [m for m in self.text_models() if not chosen or m in chosen] + self.sentiment_models

    # One model's settings.

    def dataset_of(self, model: str) -> str:
        dataset: str = self.config["models"][trained_name(model)]["dataset"]
        return dataset

    def hypothesis_set(self, dataset: str) -> str:
        hypotheses: str = self.config["datasets"][dataset]["hypotheses"]
        return hypotheses

    def model_shape(self, model: str) -> dict[str, Any]:
        """Shape settings (cell, layers, hidden, ...) of a language model, its untrained baseline or a
        sentiment classifier."""
        if model in self.sentiment_models:
            shape: dict[str, Any] = self.config["sentiment"]["models"][model]["model"]
            return shape
        shape = self.config["models"][trained_name(model)]["model"]
        return shape

    def train_threads(self, model: str) -> int:
        """Small models gain nothing from a second BLAS thread; let two of them train side by side."""
        return 1 if self.config["models"][model]["model"]["hidden"] < 64 else 2

    def checkpoint_of(self, model: str) -> str:
        if model in self.sentiment_models:
            return f"results/sentiment/{model}/model.pt"
        if model.endswith(UNTRAINED_SUFFIX):
            return f"results/untrained/{trained_name(model)}/model.pt"
        return f"results/train/{model}/model.pt"

    def vocab_of(self, model: str) -> str:
        if model in self.sentiment_models:
            return "results/sentiment/data/vocab.json"
        return data_files(self.dataset_of(model))["vocab"]

    def view_settings(self, model: str) -> dict[str, Any]:
        """What a model's RNNVis views show: glyph sentences, detail tokens and how many of the most
        frequent tokens are co-clustered; a sentiment model has its own (sentiment.views)."""
        if model in self.sentiment_models:
            views: dict[str, Any] = self.config["sentiment"]["views"]
            return views
        rnnvis = self.config["rnnvis"]
        return {
            "sentences": rnnvis["sentences"],
            "detail_tokens": rnnvis["detail_tokens"],
            "max_tokens": self.config["cluster"]["max_tokens"],
        }

    def extracted_kinds(self, model: str) -> list[str]:
        wanted = self.config["extract"]["kinds"]
        return [kind for kind in STATE_KINDS[self.model_shape(model)["cell"]] if wanted == "all" or kind in wanted]

    def cluster_columns(self, model: str) -> list[str]:
        """State columns that get expected responses and co-clusters."""
        kinds = [k for k in self.extracted_kinds(model) if k in self.config["cluster"]["kinds"]]
        return [state_column(layer, kind) for layer in range(self.model_shape(model)["layers"]) for kind in kinds]

    def top_hidden_column(self, model: str) -> str:
        """The top layer's hidden-state column, which sentiment_views.csv reads."""
        return state_column(self.model_shape(model)["layers"] - 1, "h")

    def cluster_title(self, model: str, column: str) -> str:
        """Which model, layer, state and cluster config a figure or table comes from."""
        layer, kind = parse_state_column(column)
        settings = self.config["cluster"]
        corpus = (
            "Yelp sentences, each from the zero state" if model in self.sentiment_models else self.dataset_of(model)
        )
        return (
            f"{model} ({self.model_shape(model)['cell']}, {corpus}) layer {layer} "
            f"{'hidden state h' if kind == 'h' else 'cell state c'}; train split, tokens seen >= "
            f"{settings['min_count']} times, {self.view_settings(model)['max_tokens']} most frequent co-clustered into "
            f"{settings['n_clusters']} clusters ({settings['mode']} mode, seed {settings['seed']})"
        )

    def compare_pairs(self) -> list[tuple[str, str, str]]:
        """(model a, model b, column) for every configured pair and every state column both have."""
        return [
            (a, b, column)
            for a, b in self.config["rnnvis"]["compare"]
            for column in self.cluster_columns(a)
            if column in self.cluster_columns(b)
        ]

    # One dataset's settings.

    def tags_pos(self, dataset: str) -> bool:
        """Only char_text labels use the part-of-speech tagger, so only they depend on its files."""
        return self.hypothesis_set(dataset) == "char_text"

    def corpus_input(self, dataset: str) -> list[str]:
        """The downloaded or given file(s) a dataset is prepared from; none for generated ones."""
        spec = self.config["datasets"][dataset]
        if spec["kind"] == "word_files":
            return [f"resources/downloads/{dataset}/{split}.txt" for split in SPLITS]
        download = [f"resources/downloads/{dataset}"]
        return {"download": download, "tarball": download, "text": [spec["path"]]}.get(spec["kind"], [])

    def split_tokens(self, dataset: str, split: str) -> int:
        """Tokens extracted (and labelled) of a dataset's split: the dataset's own max_tokens entry,
        else extract.max_tokens (0 = the whole split)."""
        own = self.config["datasets"][dataset].get("max_tokens") or {}
        tokens: int = own[split] if own.get(split) is not None else self.config["extract"]["max_tokens"].get(split, 0)
        return tokens

    def sampling_of(self, dataset: str) -> str:
        """Where a dataset's probe rows come from: its own sampling entry, else extract.sampling."""
        sampling: str = self.config["datasets"][dataset].get("sampling") or self.config["extract"]["sampling"]
        return sampling

    def spread_sampling(self) -> dict[str, Any]:
        """The spread extract/label rules' ``rows`` param: both stages pass it to sampled_positions."""
        return {
            "sampling": "spread",
            "skip": self.config["probe"]["warmup_tokens"],  # sampled after the transients the probes leave out
            "seed": self.config["extract"]["seed"],
        }

    # The files a job reads.

    def probe_rows(self, model: str) -> dict[str, str]:
        """The states and labels files a model's probes read, per its dataset's sampling."""
        dataset = self.dataset_of(model)
        suffix = "_spread" if self.sampling_of(dataset) == "spread" else ""
        return {
            f"{split}_{kind}": f"results/{kind}/{folder}/{split}{suffix}.parquet"
            for split in PROBE_SPLITS
            for kind, folder in (("states", model), ("labels", dataset))
        }

    def counting_inputs(self, model: str) -> dict[str, str]:
        """A counting model's consecutive (prefix) states and labels and its training metrics."""
        dataset = self.dataset_of(model)
        return {
            "train_states": f"results/states/{model}/train.parquet",
            "train_labels": f"results/labels/{dataset}/train.parquet",
            "test_states": f"results/states/{model}/test.parquet",
            "test_labels": f"results/labels/{dataset}/test.parquet",
            "train_metrics": f"results/train/{model}/metrics.json",
        }

    def comparison_inputs(self, a: str, b: str, column: str) -> dict[str, list[str]]:
        """Both models' cluster-stage outputs and glyph tables for one compared state column."""
        models = (a, b)
        inputs = {key: [clustered(model, column)[key] for model in models] for key in CLUSTERED_FILES}
        inputs["glyphs"] = [f"results/rnnvis/{model}/{column}/glyphs.csv" for model in models]
        return inputs

    def explorer_inputs(self, static_files: list[str]) -> dict[str, Any]:
        """Every file the explorer reads: per view the cluster and rnnvis tables, each comparison's
        summary, the probe table and each neuron heatmap's data; the page files ``static_files``."""
        views = [(model, column) for model in self.clustered_models() for column in self.cluster_columns(model)]
        cluster_files = (*CLUSTERED_FILES.values(), "top_tokens.csv", "bands.parquet")
        return {
            "static": static_files,
            "views": [f"results/cluster/{m}/{column}/{name}" for m, column in views for name in cluster_files],
            "rnnvis": [
                f"results/rnnvis/{m}/{column}/{name}" for m, column in views for name in ("glyphs.csv", "pos.csv")
            ],
            "compare": [
                f"results/rnnvis/compare/{a}__{b}/{column}/{name}"
                for a, b, column in self.compare_pairs()
                for name in ("summary.csv", "word_cluster_overlap.csv")
            ],
            "probes": "results/tables/probes.csv",
            "neurons": [f"results/neurons/{m}/{h}/heatmap.json" for m, h in self.neuron_targets()],
        }

    # The final targets.

    def cluster_outputs(self) -> list[str]:
        return [
            f"results/cluster/{model}/{column}/cocluster.png"
            for model in self.clustered_models()
            for column in self.cluster_columns(model)
        ]

    def rnnvis_outputs(self) -> list[str]:
        outputs = [
            f"results/rnnvis/{model}/{column}/{name}"
            for model in self.clustered_models()
            for column in self.cluster_columns(model)
            for name in ("main_view.png", "glyphs.png", "detail.png")
        ]
        outputs += [f"results/rnnvis/compare/{a}__{b}/{column}/compare.png" for a, b, column in self.compare_pairs()]
        return outputs

    def final_outputs(self) -> list[str]:
        outputs = [
            "results/tables/perplexity.csv",
            "results/tables/probes.csv",
            "results/tables/probes_by_seed.csv",
            "results/tables/probe_comparison.csv",
            "results/plots/training_curves.png",
            "results/tables/tiny_rnn_weights.csv",
            "results/plots/tiny_rnn_trajectories.png",
            *self.cluster_outputs(),
            *self.rnnvis_outputs(),
            *[f"results/plots/probes_{model}.png" for model in self.probed_models()],
        ]
        if self.generation_models():
            outputs += ["results/tables/probes_generated.csv"]
        if self.neuron_targets():
            outputs += ["results/tables/ablation.csv"]
            outputs += [f"results/neurons/{m}/{h}/heatmap.png" for m, h in self.neuron_targets()]
        if self.ranking_targets():
            outputs += ["results/tables/neuron_rankings.csv"]
            outputs += [f"results/neurons/{m}/{h}/rankings.png" for m, h in self.ranking_targets()]
        if self.erasure_targets():
            outputs += ["results/tables/erasure.csv"]
            outputs += [f"results/erasure/{m}/{h}/erasure.png" for m, h in self.erasure_targets()]
        if self.reference_models():
            outputs += ["results/tables/ptb_perplexity.csv"]
        if self.sentiment_models:
            outputs += ["results/tables/sentiment.csv", "results/tables/sentiment_views.csv"]
        if self.counting_models():
            outputs += ["results/tables/srn_counting.csv"]
            outputs += [f"results/plots/activation_space_{m}.png" for m in self.counting_models()]
        if self.clustered_models():
            outputs += ["results/explorer/index.html"]  # the interactive explorer (workflow/rules/explorer.smk)
        return outputs
