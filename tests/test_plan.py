"""The plan (rnnscope.plan) on small hand-written configs, defaults filled in by the schema as
Snakemake fills them: which models each stage covers, state columns, probe rows, final targets and
the config cross-checks' messages."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import yaml
from snakemake.utils import validate

from rnnscope.config_schema import ROOT, SCHEMA
from rnnscope.plan import Plan

# Four datasets, one per kind of analysis: characters (char_text), code, counting, words without probes.
BASE = {
    "datasets": {
        "shakespeare": {"kind": "text", "path": "shakespeare.txt", "hypotheses": "char_text"},
        "kernel": {"kind": "text", "path": "kernel.c", "hypotheses": "code", "sampling": "prefix"},
        "anbn": {"kind": "counting", "task": "anbn", "hypotheses": "counting"},
        "words": {"kind": "text", "path": "words.txt", "hypotheses": "none"},
    },
    "models": {
        "char_lstm": {"dataset": "shakespeare", "model": {"cell": "lstm", "layers": 2}},
        "char_gru": {"dataset": "shakespeare", "model": {"cell": "gru", "layers": 1}},
        "code_lstm": {"dataset": "kernel", "model": {"cell": "lstm", "layers": 1}},
        "srn": {"dataset": "anbn", "model": {"cell": "srn", "layers": 1, "hidden": 2}},
        "word_lstm": {"dataset": "words", "model": {"cell": "lstm", "layers": 1}, "reference": "lstm_small"},
    },
    "rnnvis": {"compare": [["char_lstm", "char_gru"]]},
}
SENTIMENT = {
    "files": {"sentiment.dev.0": {"url": "file:///dev.0", "sha256": "0" * 64}},
    "models": {"yelp_gru": {"model": {"cell": "gru", "layers": 2}}},
}


def plan_of(change: Callable[[dict], object] | None = None) -> Plan:
    """Plan of BASE after ``change``, with the schema's defaults filled in."""
    config = copy.deepcopy(BASE)
    if change:
        change(config)
    validate(config, str(SCHEMA))
    return Plan(config)


def with_sentiment(config: dict) -> None:
    config["sentiment"] = copy.deepcopy(SENTIMENT)


def test_probed_models_leave_out_word_models_and_baselines_follow() -> None:
    plan = plan_of()
    assert plan.probed_models() == ["char_lstm", "char_gru", "code_lstm", "srn"]
    assert plan.probed_models_with_baselines() == [
        *["char_lstm", "char_gru", "code_lstm", "srn"],
        *["char_lstm_untrained", "char_gru_untrained", "code_lstm_untrained", "srn_untrained"],
    ]
    # every config model's states, and the baselines' (the word model has no baseline: no probes)
    assert plan.language_models() == [*plan.models, *plan.probed_models_with_baselines()[4:]]


def test_model_sets_per_stage() -> None:
    plan = plan_of()
    assert plan.counting_models() == ["srn"]
    assert plan.text_models() == ["char_lstm", "char_gru", "code_lstm", "word_lstm"]
    assert plan.reference_models() == ["word_lstm"]
    assert plan.generation_models() == ["char_lstm", "char_gru", "code_lstm"]  # default sets: char_text, code
    assert plan.clustered_models() == plan.text_models()  # cluster.models [] = every text model
    assert plan.neuron_targets() == [
        ("char_lstm", "capitalized_word"),
        ("char_lstm", "next_is_newline"),
        ("char_gru", "capitalized_word"),
        ("char_gru", "next_is_newline"),
        ("code_lstm", "inside_comment"),
        ("code_lstm", "inside_string"),
    ]
    assert plan.erasure_targets() == plan.neuron_targets()  # the causal tests side by side


def test_erasure_off_leaves_no_erasure_jobs() -> None:
    def erasure_off(config: dict) -> None:
        config["erasure"] = {"enabled": False}

    plan = plan_of(erasure_off)
    assert plan.erasure_targets() == []
    assert not any("erasure" in path for path in plan.final_outputs())


def test_cluster_models_pick_text_models_and_sentiment_models_join() -> None:
    def change(config: dict) -> None:
        config["cluster"] = {"models": ["word_lstm", "char_gru"]}
        with_sentiment(config)

    plan = plan_of(change)
    assert plan.clustered_models() == ["char_gru", "word_lstm", "yelp_gru"]  # config order, sentiment last


def test_cluster_columns_follow_extracted_and_clustered_kinds() -> None:
    plan = plan_of()
    assert plan.extracted_kinds("char_lstm") == ["h", "c", "i", "f", "g", "o"]  # gates too (extract.kinds all)
    assert plan.cluster_columns("char_lstm") == ["l0_h", "l0_c", "l1_h", "l1_c"]
    # a GRU's gates are extracted but cluster.kinds (h, c) leaves them out
    assert plan.extracted_kinds("char_gru") == ["h", "r", "z", "n"]
    assert plan.cluster_columns("char_gru") == ["l0_h"]
    # the baseline has its trained model's shape
    assert plan.cluster_columns("char_lstm_untrained") == plan.cluster_columns("char_lstm")

    only_h = plan_of(lambda c: c.update(extract={"kinds": ["h"]}))
    assert only_h.extracted_kinds("char_lstm") == ["h"]
    assert only_h.cluster_columns("char_lstm") == ["l0_h", "l1_h"]
    # the pairs compared are the columns both models have
    assert only_h.compare_pairs() == [("char_lstm", "char_gru", "l0_h")]


def test_paths_of_baselines_and_sentiment_models() -> None:
    plan = plan_of(with_sentiment)
    assert plan.checkpoint_of("char_lstm") == "results/train/char_lstm/model.pt"
    assert plan.checkpoint_of("char_lstm_untrained") == "results/untrained/char_lstm/model.pt"
    assert plan.checkpoint_of("yelp_gru") == "results/sentiment/yelp_gru/model.pt"
    assert plan.dataset_of("char_lstm_untrained") == "shakespeare"
    assert plan.vocab_of("char_gru") == "results/data/shakespeare/vocab.json"
    assert plan.vocab_of("yelp_gru") == "results/sentiment/data/vocab.json"
    assert plan.top_hidden_column("yelp_gru") == "l1_h"
    assert plan.view_settings("yelp_gru")["max_tokens"] == 200  # sentiment.views, not cluster.max_tokens
    assert plan.view_settings("char_lstm")["max_tokens"] == 60


def test_cluster_title_names_layer_state_and_corpus() -> None:
    plan = plan_of(with_sentiment)
    title = plan.cluster_title("char_lstm", "l1_c")
    assert title.startswith("char_lstm (lstm, shakespeare) layer 1 cell state c; train split")
    assert "60 most frequent co-clustered into 4 clusters (absolute mode, seed 0)" in title
    assert plan.cluster_title("yelp_gru", "l0_h").startswith(
        "yelp_gru (gru, Yelp sentences, each from the zero state) layer 0 hidden state h"
    )
    with pytest.raises(ValueError, match="not a state column"):
        plan.cluster_title("char_lstm", "top_h")


def test_probe_rows_are_spread_unless_the_dataset_says_prefix() -> None:
    plan = plan_of()
    assert plan.probe_rows("char_lstm_untrained") == {
        "train_states": "results/states/char_lstm_untrained/train_spread.parquet",
        "train_labels": "results/labels/shakespeare/train_spread.parquet",
        "test_states": "results/states/char_lstm_untrained/test_spread.parquet",
        "test_labels": "results/labels/shakespeare/test_spread.parquet",
    }
    assert plan.probe_rows("code_lstm")["test_labels"] == "results/labels/kernel/test.parquet"
    everywhere_prefix = plan_of(lambda c: c.update(extract={"sampling": "prefix"}))
    assert everywhere_prefix.probe_rows("char_lstm")["train_states"] == "results/states/char_lstm/train.parquet"
    assert plan.spread_sampling() == {"sampling": "spread", "skip": 50, "seed": 0}


def test_split_tokens_prefer_the_dataset_entry() -> None:
    plan = plan_of(lambda c: c["datasets"]["kernel"].update(max_tokens={"train": 500, "test": None}))
    assert plan.split_tokens("kernel", "train") == 500
    assert plan.split_tokens("kernel", "test") == 20000  # extract.max_tokens
    assert plan.split_tokens("kernel", "valid") == 0  # no entry: the whole split


def test_corpus_input_per_dataset_kind() -> None:
    def change(config: dict) -> None:
        url = {"url": "https://example.org/x", "sha256": "0" * 64}
        config["datasets"]["ptb"] = {"kind": "word_files", "files": dict.fromkeys(("train", "valid", "test"), url)}
        config["datasets"]["linux"] = {"kind": "tarball", **url}

    plan = plan_of(change)
    assert plan.corpus_input("shakespeare") == ["shakespeare.txt"]
    assert plan.corpus_input("linux") == ["resources/downloads/linux"]
    assert plan.corpus_input("ptb") == [f"resources/downloads/ptb/{split}.txt" for split in ("train", "valid", "test")]
    assert plan.corpus_input("anbn") == []  # generated


def test_comparison_and_explorer_inputs() -> None:
    plan = plan_of(lambda c: c.update(cluster={"models": ["char_gru", "char_lstm"], "kinds": ["h"]}))
    inputs = plan.comparison_inputs("char_lstm", "char_gru", "l0_h")
    assert inputs["units"] == [
        "results/cluster/char_lstm/l0_h/unit_clusters.csv",
        "results/cluster/char_gru/l0_h/unit_clusters.csv",
    ]
    assert sorted(inputs) == ["edges", "glyphs", "responses", "units", "words"]
    explorer = plan.explorer_inputs(["static/index.html"])
    assert explorer["static"] == ["static/index.html"]
    assert len(explorer["views"]) == 3 * 6  # char_lstm l0_h, l1_h and char_gru l0_h; six files each
    assert explorer["compare"] == [
        "results/rnnvis/compare/char_lstm__char_gru/l0_h/summary.csv",
        "results/rnnvis/compare/char_lstm__char_gru/l0_h/word_cluster_overlap.csv",
    ]
    assert explorer["neurons"][0] == "results/neurons/char_lstm/capitalized_word/heatmap.json"


def test_final_outputs_with_and_without_sentiment_models() -> None:
    without = plan_of().final_outputs()
    assert "results/tables/sentiment.csv" not in without
    assert "results/tables/srn_counting.csv" in without and "results/plots/activation_space_srn.png" in without
    assert "results/tables/ptb_perplexity.csv" in without
    assert "results/plots/probes_char_lstm.png" in without
    assert not any("untrained" in path for path in without)  # baselines are rows of the probe table only
    assert "results/plots/probes_word_lstm.png" not in without
    assert "results/rnnvis/compare/char_lstm__char_gru/l0_h/compare.png" in without
    assert "results/explorer/index.html" in without

    with_views = plan_of(with_sentiment).final_outputs()
    added = [path for path in with_views if path not in without]
    assert added == [
        "results/cluster/yelp_gru/l0_h/cocluster.png",
        "results/cluster/yelp_gru/l1_h/cocluster.png",
        *[
            f"results/rnnvis/yelp_gru/{column}/{name}"
            for column in ("l0_h", "l1_h")
            for name in ("main_view.png", "glyphs.png", "detail.png")
        ],
        "results/tables/sentiment.csv",
        "results/tables/sentiment_views.csv",
    ]


def test_final_outputs_leave_out_stages_with_no_models() -> None:
    def only_words(config: dict) -> None:
        config["models"] = {"word_lstm": config["models"]["word_lstm"]}
        config["rnnvis"]["compare"] = []

    outputs = plan_of(only_words).final_outputs()
    for absent in (
        "probes_generated.csv",
        "ablation.csv",
        "neuron_rankings.csv",
        "srn_counting.csv",
        "probes_word_lstm.png",
    ):
        assert not any(path.endswith(absent) for path in outputs), absent
    assert "results/explorer/index.html" in outputs  # the word model is viewed


def test_consistent_configs_pass_the_checks() -> None:
    plan_of().check()
    shipped = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    validate(shipped, str(SCHEMA))
    Plan(shipped).check()


@pytest.mark.parametrize(
    ("change", "problem", "fix"),
    [
        (
            lambda c: c["models"].update(char_lstm_untrained={"dataset": "shakespeare"}),
            "'char_lstm_untrained' ends with '_untrained', which names the untrained baseline of model 'char_lstm'",
            "rename it",
        ),
        (
            lambda c: c["models"]["srn"].update(dataset="anbncn"),
            "models.srn.dataset is 'anbncn', which is not in datasets",
            "defined: shakespeare, kernel, anbn, words",
        ),
        (
            lambda c: c["datasets"].update(linux={"kind": "tarball", "url": "https://example.org/l.tar.xz"}),
            "datasets.linux has kind tarball but no sha256",
            "sha256",
        ),
        (
            lambda c: c["datasets"].update(ptb={"kind": "word_files"}),
            "datasets.ptb has kind word_files but no files.train.url, files.train.sha256",
            "files.test.sha256",
        ),
        (
            lambda c: (with_sentiment(c), c["sentiment"]["models"].update(char_gru={})),
            "sentiment.models and models both name ['char_gru']",
            "rename one",
        ),
        (
            lambda c: (with_sentiment(c), c.update(cluster={"kinds": ["c"]})),
            "sentiment.views reads the clusters of the hidden state h",
            "keep h in cluster.kinds and extract.kinds",
        ),
        (
            lambda c: (with_sentiment(c), c.update(extract={"kinds": ["c"]})),
            "sentiment.views reads the clusters of the hidden state h",
            "keep h in cluster.kinds and extract.kinds",
        ),
        (
            lambda c: c.update(cluster={"models": ["char_rnn"]}),
            "cluster.models names ['char_rnn'], which are not in models",
            "defined: char_lstm, char_gru, code_lstm, srn, word_lstm",
        ),
        (
            lambda c: c["rnnvis"].update(compare=[["char_lstm", "char_rnn"]]),
            "rnnvis.compare pair ['char_lstm', 'char_rnn'] must name two different models of models (unknown: ['char_rnn']",
            "set rnnvis.compare: [] to compare none",
        ),
        (
            lambda c: c["rnnvis"].update(compare=[["char_lstm", "char_lstm"]]),
            "must name two different models of models (unknown: none",
            "set rnnvis.compare: [] to compare none",
        ),
        (
            lambda c: c["rnnvis"].update(compare=[["char_lstm", "srn"]]),
            "rnnvis.compare pair ['char_lstm', 'srn']: ['srn'] are counting models",
            "RNNVis views need text models",
        ),
    ],
)
def test_check_names_the_problem_and_the_fix(change: Callable[[dict], object], problem: str, fix: str) -> None:
    plan = plan_of(change)
    with pytest.raises(ValueError) as raised:
        plan.check()
    assert problem in str(raised.value)
    assert fix in str(raised.value)
