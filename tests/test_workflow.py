"""The whole DAG on the tiny config: every rule runs, outputs hold what they claim, and reruns
do exactly what changed (nothing when nothing changed)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from explorer_browser import check_explorer_site
from helpers import CLEAN_ENV, copy_workflow, planned_jobs, shakespeare_mirror
from rnnscope.dependencies import rerun_table
from rnnscope.sampling import sampled_positions
from rnnscope.states import read_info

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

pytestmark = pytest.mark.integration


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [*SNAKEMAKE, "--cores", "2", "--configfile", "tiny.yaml", "source.yaml", *args]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=CLEAN_ENV)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def skip_without_tagger_data() -> None:
    """char_text labels need NLTK's tagger, which rule download_tagger_data takes from the mirror
    (tests never use the network)."""
    mirror = shakespeare_mirror()
    if mirror is None or not (mirror / "nltk_data" / "taggers" / "universal_tagset" / "en-ptb.map").is_file():
        pytest.skip(
            "the tiny DAG labels nouns and verbs with NLTK's tagger: set RNNSCOPE_MIRROR to a mirror holding nltk_data/taggers"
        )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workflow copy, run once to completion."""
    skip_without_tagger_data()
    work = copy_workflow(tmp_path_factory.mktemp("workflow"))
    snakemake(work)
    return work


def test_every_rule_ran(workdir: Path) -> None:
    rules = {
        path.parent.name if path.parent.name != "benchmarks" else path.stem
        for path in (workdir / "benchmarks").rglob("*.tsv")
    }
    defined = set(
        re.findall(
            r"^rule (\w+):",
            "\n".join(p.read_text() for p in (workdir / "workflow" / "rules").glob("*.smk")),
            re.MULTILINE,
        )
    )
    assert defined <= rules | {"all"}, f"rules that never ran: {defined - rules}"


def test_perplexity_table(workdir: Path) -> None:
    table = pd.read_csv(workdir / "results/tables/perplexity.csv")
    assert list(table.columns[:9]) == [
        "model",
        "dataset",
        "cell",
        "layers",
        "hidden",
        "split",
        "loss_nats",
        "ppl",
        "bpc",
    ]
    assert len(table) == 12 * 3  # 7 character/counting models and 5 PTB word models, 3 splits each
    assert np.allclose(table["ppl"], np.exp(table["loss_nats"]))
    assert np.allclose(table["pow2_nats"], 2 ** table["loss_nats"])
    reported = table.set_index(["model", "split"])["seed003_reported"]
    assert reported[("shakespeare_lstm", "test")] == 2.55 and reported[("shakespeare_gru", "test")] == 2.68
    assert np.isnan(reported[("shakespeare_lstm", "train")]) and np.isnan(reported[("srn_anbn", "test")])
    assert np.allclose(table["bpc"], table["loss_nats"] / math.log(2))
    shakespeare = table[table["dataset"] == "tinyshakespeare"]
    # Five Adam steps already beat the uniform guess over the character vocabulary.
    vocab = len(json.loads((workdir / "results/data/tinyshakespeare/vocab.json").read_text())["tokens"])
    assert (shakespeare["loss_nats"] < math.log(vocab)).all()
    caption = (workdir / "results/tables/perplexity.md").read_text()
    assert caption.startswith("Perplexity per model")
    lstm_test = table[(table["model"] == "shakespeare_lstm") & (table["split"] == "test")].iloc[0]
    assert f"Ours shakespeare_lstm test: L = {lstm_test['loss_nats']:.3f} nats" in caption


def test_states_and_labels_align_and_open_everywhere(workdir: Path) -> None:
    # The first rows (what the expected responses read): one stream from position 0.
    states = workdir / "results/states/shakespeare_lstm/train.parquet"
    info = read_info(states)
    assert info.kinds == ("h", "c", "i", "f", "g", "o") and info.layers == 2 and info.hidden == 16
    frame = pd.read_parquet(states)
    assert len(frame) == 3000 and frame["position"].tolist() == list(range(3000))
    assert len(frame["l1_c"].iloc[0]) == 16
    assert "".join(frame["token"]) == (workdir / "results/data/tinyshakespeare/train.txt").read_text()[:3000]
    assert duckdb.sql(f"select count(*), max(position) from '{states}'").fetchall() == [(3000, 2999)]
    # The probes' rows (extract.sampling spread, the default; the tiny config keeps Tiny
    # Shakespeare on prefix): spread over the test split, the same positions in states and labels.
    assert not (workdir / "results/states/shakespeare_lstm/test_spread.parquet").exists()
    spread = workdir / "results/states/linux_lstm/test_spread.parquet"
    frame = pd.read_parquet(spread)
    text = (workdir / "results/data/linux/test.txt").read_text()
    positions = sampled_positions(
        len(text), 1500, "spread", skip=50, seed=0
    )  # tiny max_tokens.test, default warm-up and seed
    assert frame["position"].tolist() == positions.tolist() and len(positions) == min(1500, len(text) - 50)
    assert frame["token"].tolist() == [text[i] for i in positions]
    labels = pd.read_parquet(workdir / "results/labels/linux/test_spread.parquet")
    assert labels["position"].tolist() == frame["position"].tolist()
    newline_next = [i + 1 < len(text) and text[i + 1] == "\n" for i in positions]
    assert labels["next_is_newline"].tolist() == newline_next


def test_word_models_end_to_end(workdir: Path) -> None:
    """PTB word models: words in the states' token column, word responses and clusters, the
    perplexity table beside the published numbers; no probes (the dataset has no hypotheses)."""
    vocab = json.loads((workdir / "results/data/ptb/vocab.json").read_text())
    assert vocab["level"] == "word" and {"<eos>", "<unk>", "market"} <= set(vocab["tokens"])
    states = pd.read_parquet(workdir / "results/states/ptb_lstm_small/train.parquet", columns=["position", "token"])
    words = (workdir / "results/data/ptb/train.txt").read_text().replace("\n", " <eos> ").split()
    assert states["token"].tolist() == words[: len(states)] and len(states) == 3000
    responses = pd.read_csv(workdir / "results/cluster/ptb_lstm_small/l1_h/top_tokens.csv")
    assert set(responses["token"]) <= set(vocab["tokens"]) and responses["token"].nunique() > 5
    clusters = pd.read_csv(workdir / "results/cluster/ptb_lstm_small/l0_h/word_clusters.csv")
    assert len(clusters) == 20 and "<eos>" in set(clusters["token"])
    table = pd.read_csv(workdir / "results/tables/ptb_perplexity.csv")
    assert table["model"].tolist() == ["ptb_lstm_small", "ptb_lstm_medium", "ptb_lstm_large", "ptb_rnn", "ptb_gru"]
    assert (table["valid_ppl"] < len(vocab["tokens"])).all()  # ten steps from the unigram bias already beat uniform
    assert table["rnnvis_test_ppl"].tolist() == [115.7, 93.5, 88.0, 119.9, 116.4]
    assert table["config"].iloc[0] == "2x8 lstm, emb 8, 2 epochs, 200 train tokens, adam, lr 0.002, unigram output bias"
    history = pd.read_csv(workdir / "results/train/ptb_lstm_small/history.csv")
    assert history["lr"].tolist() == [0.002, 0.002]  # the default config's Adam, no decay
    assert not (workdir / "results/probes/ptb_gru").exists() and not (workdir / "results/labels/ptb").exists()


def test_sentiment_classifier(workdir: Path) -> None:
    table = pd.read_csv(workdir / "results/tables/sentiment.csv")
    assert table["model"].tolist() == ["yelp_gru"] and table["test_sentences"].tolist() == [40]
    assert table["train_sentences"].tolist() == [320] and table["test_accuracy"].between(0, 1).all()
    assert len(pd.read_csv(workdir / "results/sentiment/yelp_gru/history.csv")) == 2


def test_sentiment_views(workdir: Path) -> None:
    """The Yelp GRU's RNNVis views: states of whole sentences each from the zero state, responses,
    co-clusters, main/glyph/detail views of seed 002's two sentences, the seed side-by-side table."""
    states = pd.read_parquet(
        workdir / "results/states/yelp_gru/train.parquet", columns=["sequence", "token", "next_token_id"]
    )
    assert (
        len(states) == 1000 and states["sequence"].tolist() == np.repeat(np.arange(200), 5).tolist()
    )  # 5-word sentences
    assert (states.groupby("sequence")["next_token_id"].last() == -1).all() and set(states["token"]) >= {
        "great",
        "bad",
        "!",
    }
    folder = workdir / "results/rnnvis/yelp_gru/l0_h"
    for name in ("main_view.png", "glyphs.png", "detail.png"):
        assert (folder / name).stat().st_size > 10_000, name
    glyphs = pd.read_csv(folder / "glyphs.csv", keep_default_na=False, na_values=[""])
    sentences = yaml.safe_load((ROOT / "config/config.yaml").read_text())["sentiment"]["views"]["sentences"]
    assert glyphs["sentence"].unique().tolist() == sentences
    # Seed 002's sentences: 9 words ("... though staff is not helpful") and 10 ('though' is <unk> here).
    assert glyphs.groupby("sentence_index")["step"].max().tolist() == [8, 9]
    words = pd.read_csv(workdir / "results/cluster/yelp_gru/l0_h/word_clusters.csv")
    assert {"great", "bad"} <= set(words["token"]) and len(words) <= 20
    table = pd.read_csv(workdir / "results/tables/sentiment_views.csv")
    assert table["model"].unique().tolist() == ["yelp_gru"]
    assert set(table["finding"]) == {
        "word clouds of positive and negative words",
        "units respond with opposite signs",
        "impact of 'though'",
    }
    assert table.loc[table["measure"] == "polarity purity", "value"].between(0.5, 1).all()
    assert table.loc[table["measure"] == "‖Δh‖ at 'though'", "item"].tolist() == sentences


def test_probe_table_covers_every_model_layer_and_hypothesis(workdir: Path) -> None:
    table = pd.read_csv(workdir / "results/tables/probes.csv")
    required = [
        "model",
        "dataset",
        "cell",
        "text",
        "layer",
        "kind",
        "hypothesis",
        "weighting",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "mcc",
        "r2",
        "top_unit",
        "selectivity",
        "mdl_online_bits",
        "mdl_uniform_bits",
        "mdl_compression",
        "control_mdl_compression",
        "n_train",
        "n_test",
    ]
    assert set(required) <= set(table.columns)
    assert set(table["states"]) == {"trained", "untrained"} and set(table["text"]) == {"real", "generated"}
    generated = table[table["text"] == "generated"]
    assert set(generated["states"]) == {"trained"} and "srn_anbn" not in set(generated["model"])
    table = table[table["text"] == "real"]
    lstm = table[table["model"] == "shakespeare_lstm"]
    assert set(lstm["kind"]) == {"h", "c", "i", "f", "g", "o"} and set(lstm["layer"]) == {0, 1}
    assert {"position_in_line", "capitalized_word", "inside_parentheses", "next_is_newline", "noun", "verb"} <= set(
        lstm["hypothesis"]
    )
    # The untrained baseline has exactly the trained model's probes.
    probe_keys = ["layer", "kind", "hypothesis", "weighting"]
    trained, untrained = (lstm[lstm["states"] == states][probe_keys] for states in ("trained", "untrained"))
    assert trained.reset_index(drop=True).equals(untrained.reset_index(drop=True))
    ok = table[table["status"] == "ok"]
    classifiers = ok[ok["target_kind"] != "continuous"]
    assert np.allclose(classifiers["selectivity"], classifiers["accuracy"] - classifiers["control_accuracy"])
    # tiny_config turns probe.mdl on: every plain classifier has its online codelength, nothing else does.
    plain = classifiers["weighting"] == "plain"
    assert classifiers.loc[plain, ["mdl_compression", "control_mdl_compression"]].notna().all().all()
    assert ok.loc[ok["weighting"] != "plain", "mdl_compression"].isna().all()
    assert (classifiers.loc[plain, "mdl_compression"] > 0).all()
    assert ok[ok["target_kind"] != "continuous"]["accuracy"].between(0, 1).all()
    assert ok[ok["target_kind"] == "continuous"]["r2"].notna().all()
    # The input symbol is in the SRN's state: its probe is perfect.
    symbol = ok[(ok["model"] == "srn_anbn") & (ok["hypothesis"] == "symbol")]
    assert (symbol["accuracy"] == 1.0).all()


def test_probes_over_seeds_and_beside_seed_003(workdir: Path) -> None:
    by_seed = pd.read_csv(workdir / "results/tables/probes_by_seed.csv")
    gru = by_seed[by_seed["model"] == "shakespeare_gru"]
    assert (gru["n_seeds"] == 2).all() and set(gru["models"]) == {"shakespeare_gru;shakespeare_gru_s1"}
    assert "shakespeare_gru_s1" not in set(by_seed["model"])
    assert (by_seed[by_seed["model"] == "shakespeare_lstm"]["n_seeds"] == 1).all()
    comparison = pd.read_csv(workdir / "results/tables/probe_comparison.csv")
    # the last layer's h: layer 1 of the 2-layer Shakespeare models, layer 0 of the 1-layer tiny Linux ones
    last_layer = comparison["dataset"].map({"tinyshakespeare": 1, "linux": 0})
    assert (comparison["layer"] == last_layer).all() and set(comparison["kind"]) == {"h"}
    nouns = comparison[
        (comparison["model"] == "shakespeare_lstm")
        & (comparison["states"] == "trained")
        & (comparison["hypothesis"] == "noun")
        & (comparison["metric"] == "f1")
    ]
    assert sorted(nouns["seed003"].dropna()) == [0.67, 0.72]  # Figure 5, Nouns F1 0.67/0.72
    markdown = (workdir / "results/tables/probe_comparison.md").read_text()
    assert "### shakespeare_gru (tinyshakespeare, gru), layer 1 h, n = 2 seed(s)" in markdown
    assert "| noun (Nouns)" in markdown and "| verb (Verbs)" in markdown


def test_seed_tables(workdir: Path) -> None:
    weights = pd.read_csv(workdir / "results/tables/tiny_rnn_weights.csv")
    assert list(weights.columns) == ["sequence", "hh", "ih", "ho", "yhat_min", "yhat_max"]
    assert weights["sequence"].tolist() == ["1^10", "0^10", "1^10 0^10", "(10)^10"]
    assert weights.loc[0, ["hh", "ho"]].round(2).tolist() == [0.44, 1.99]
    counting = pd.read_csv(workdir / "results/tables/srn_counting.csv")
    assert list(counting.columns[:6]) == ["task", "hidden", "epochs", "train_error", "det_accuracy", "count_r2"]
    assert counting["task"].tolist() == ["anbn", "anbncn"] and counting["hidden"].tolist() == [2, 3]
    assert counting["det_accuracy"].between(0, 1).all()


def test_cluster_outputs(workdir: Path) -> None:
    folder = workdir / "results/cluster/shakespeare_gru/l1_h"
    words = pd.read_csv(folder / "word_clusters.csv")
    edges = pd.read_csv(folder / "edges.csv")
    assert len(words) == 20 and set(words["cluster"]) == {0, 1, 2}
    assert len(edges) == 9
    assert (folder / "cocluster.png").stat().st_size > 10_000


def test_rnnvis_outputs(workdir: Path) -> None:
    folder = workdir / "results/rnnvis/shakespeare_lstm/l0_h"
    assert not (workdir / "results/rnnvis/shakespeare_lstm/l0_c").exists()  # tiny cluster.kinds: [h]
    for name in ("main_view.png", "glyphs.png", "detail.png"):
        assert (folder / name).stat().st_size > 10_000, name
    glyphs = pd.read_csv(folder / "glyphs.csv", keep_default_na=False, na_values=[""])
    sentences = yaml.safe_load((ROOT / "config/config.yaml").read_text())["rnnvis"]["sentences"]
    # a char model reads each sentence character by character; 3 hidden clusters per character
    assert len(glyphs) == 3 * sum(len(sentence) for sentence in sentences)
    assert glyphs["preserved"].dropna().between(0, 1).all()
    bands = pd.read_parquet(workdir / "results/cluster/shakespeare_lstm/l0_h/bands.parquet")
    assert {"e", " "} <= set(bands["token"]) and (bands["p9"] <= bands["p91"]).all()
    pos = pd.read_csv(folder / "pos.csv", keep_default_na=False)
    assert len(pos) == 20
    summary = pd.read_csv(workdir / "results/rnnvis/compare/shakespeare_lstm__shakespeare_gru/l1_h/summary.csv")
    assert summary["common_tokens"].item() == 20 and -1 <= summary["adjusted_rand"].item() <= 1


def test_generated_text_is_probed_like_real_text(workdir: Path) -> None:
    folder = workdir / "results/generated/shakespeare_lstm"
    # tiny config: 6 sequences of 60 characters after a newline primer, 1 of them for probe-test
    assert [len((folder / f"{split}.txt").read_text()) for split in ("train", "test")] == [5 * 61, 61]
    assert (folder / "train.txt").read_text().startswith("\n")
    real = pd.read_csv(workdir / "results/probes/shakespeare_lstm/metrics.csv")
    generated = pd.read_csv(workdir / "results/probes/shakespeare_lstm/generated_metrics.csv")
    assert (generated["text"] == "generated").all()
    assert list(generated.columns.drop("text")) == list(real.columns)
    assert set(generated["hypothesis"]) == set(real["hypothesis"])
    table = pd.read_csv(workdir / "results/tables/probes_generated.csv")
    assert set(table["model"]) == {
        "shakespeare_lstm",
        "shakespeare_gru",
        "shakespeare_gru_s1",
        "linux_lstm",
        "linux_gru",
    }
    assert {"score_real", "score_generated"} <= set(table.columns)


def test_ablation_table_and_heatmaps(workdir: Path) -> None:
    table = pd.read_csv(workdir / "results/tables/ablation.csv")
    pairs = {(m, "capitalized_word") for m in ("shakespeare_lstm", "shakespeare_gru", "shakespeare_gru_s1")}
    code_pairs = {(m, "inside_comment") for m in ("linux_lstm", "linux_gru")}
    assert set(zip(table["model"], table["hypothesis"], strict=True)) == pairs | code_pairs
    ok = table[table["status"] == "ok"]
    # per layer (2 for Shakespeare, 1 for the tiny Linux models): kind h x k in {1, 3} x (top + 2 random draws)
    assert len(ok) % 6 == 0 and len(ok) > 0 and set(ok["ranking"]) == {"probe_weight", "random"}
    # Tiny Shakespeare's probes read the test split's first characters (sampling prefix), as the
    # ablation does, so the F1 before ablation is the probe table's. Linux's probe rows are spread
    # over the split: the same probe on other rows, close but not equal.
    prefix = ok["model"].str.startswith("shakespeare")
    assert prefix.any() and np.allclose(ok.loc[prefix, "f1_before"], ok.loc[prefix, "f1_probe_table"])
    assert ok["f1_before"].between(0, 1).all() and (ok["f1_before"] - ok["f1_probe_table"]).abs().max() < 0.15
    for model, hypothesis in pairs:
        assert (workdir / f"results/neurons/{model}/{hypothesis}/heatmap.png").stat().st_size > 5_000


def test_neuron_rankings_table(workdir: Path) -> None:
    table = pd.read_csv(workdir / "results/tables/neuron_rankings.csv")
    pairs = {(m, "capitalized_word") for m in ("shakespeare_lstm", "shakespeare_gru", "shakespeare_gru_s1")}
    pairs |= {(m, "inside_comment") for m in ("linux_lstm", "linux_gru")}
    assert set(zip(table["model"], table["hypothesis"], strict=True)) == pairs
    # every layer (2 for Shakespeare, 1 for the tiny Linux models) x k in {1, 3} x the 3 rankings
    assert set(table["ranking"]) == {"probe_weight", "elastic_net", "mean_difference"} and set(table["k"]) == {1, 3}
    assert len(table) == 3 * 2 * 3 * 2 + 2 * 1 * 3 * 2
    assert table.groupby(["model", "layer", "k"])["best_by_loss_true"].any().all()
    assert table["random_loss_true_increase_min"].le(table["random_loss_true_increase_max"]).all()
    for model, hypothesis in pairs:
        assert (workdir / f"results/neurons/{model}/{hypothesis}/rankings.png").stat().st_size > 5_000


def test_erasure_table(workdir: Path) -> None:
    table = pd.read_csv(workdir / "results/tables/erasure.csv")
    ok = table[table["status"] == "ok"]
    # 3 Shakespeare models x 2 layers + 2 Linux models x 1 layer, each LEACE + 1 random eraser
    assert len(ok) == (3 * 2 + 2) * 2 and set(ok["eraser"]) == {"leace", "random"}
    assert (ok["rank"] == 1).all() and ok["majority_accuracy"].between(0.5, 1).all()
    assert (ok["loss_true_change_ci_low"] <= ok["loss_true_change"]).all()
    assert (ok["loss_true_change"] <= ok["loss_true_change_ci_high"]).all()
    assert (workdir / "results/erasure/shakespeare_lstm/capitalized_word/erasure.png").stat().st_size > 5_000


def test_report_builds(workdir: Path) -> None:
    snakemake(workdir, "--report", "results/report.html")
    html = (workdir / "results/report.html").read_text(errors="replace")
    assert "tiny_rnn_weights.csv" in html and "perplexity.csv" in html
    assert "ablation.csv" in html and "probes_generated.csv" in html and "heatmap.png" in html
    assert "neuron_rankings.csv" in html and "rankings.png" in html
    assert "erasure.csv" in html and "erasure.png" in html
    assert "views.csv" in html and "explorer/index.html" in html  # the explorer's caption links the site


def test_explorer_in_a_browser(workdir: Path) -> None:
    """The tiny DAG's explorer, opened from file:// in Chromium: no console errors or outside
    requests, a word click recolours the chips to responses.parquet, glyphs, probe sorting."""
    check_explorer_site(workdir / "results/explorer", workdir / "results")


def test_no_change_rerun_does_nothing(workdir: Path) -> None:
    assert planned_jobs(snakemake(workdir, "-n").stdout) == {}


def test_probe_parameter_change_reruns_only_probes_and_downstream(workdir: Path) -> None:
    (workdir / "probe_change.yaml").write_text("probe: {C: 0.5}\n")
    jobs = planned_jobs(
        snakemake(workdir, "-n", "--configfile", "tiny.yaml", "source.yaml", "probe_change.yaml").stdout
    )
    # 7 models and their 7 untrained baselines; generated text for the 5 char models, neurons for 1 hypothesis of each.
    assert jobs == {
        "probe": 14,
        "probe_table": 1,
        "probe_comparison": 1,
        "probe_plot": 7,
        "probe_generated": 5,
        "generated_probe_table": 1,
        "neurons": 5,
        "ablation_table": 1,
        "explorer": 1,  # it shows the probe table and the neurons' heatmap data
        "benchmark_summary": 1,
        "all": 1,
    }


def test_editing_a_package_module_reruns_exactly_its_rules(workdir: Path) -> None:
    module = workdir / "src/rnnscope/tables.py"
    original = module.read_text()
    try:
        module.write_text(original + "\n# edited\n")
        jobs = planned_jobs(snakemake(workdir, "-n").stdout)
    finally:
        module.write_text(original)
    # tables.py holds the report tables only (co-clustering, the RNNVis views, glyphs and neurons
    # write theirs with rnnscope.artifacts, so they do not rerun)
    tables = {
        "perplexity_table": 1,
        "ptb_perplexity_table": 1,
        "training_curves": 1,
        "probe_table": 1,
        "probe_comparison": 1,
        "probe_plot": 7,
        "sentiment_table": 1,
    }
    explorer = {"explorer": 1}  # it reads results/tables/probes.csv, which probe_table rewrites
    assert jobs == {**tables, **explorer, "benchmark_summary": 1, "all": 1}


def test_config_typo_fails_before_any_job(workdir: Path) -> None:
    (workdir / "typo.yaml").write_text("probe: {max_iters: 10}\n")
    result = snakemake(workdir, "-n", "--configfile", "tiny.yaml", "source.yaml", "typo.yaml", check=False)
    assert result.returncode != 0
    assert "max_iters" in result.stdout + result.stderr
    (workdir / "typo.yaml").write_text("models: {srn_anbn: {model: {cell: transformer}}}\n")
    result = snakemake(workdir, "-n", "--configfile", "tiny.yaml", "source.yaml", "typo.yaml", check=False)
    assert result.returncode != 0 and "transformer" in result.stdout + result.stderr


def test_lint_is_clean_but_for_conda_per_rule() -> None:
    """The only lint left is "conda environment per rule": the project is one environment
    (pyproject.toml / environment.yml), installed once for every rule."""
    result = subprocess.run([*SNAKEMAKE, "--lint"], cwd=ROOT, capture_output=True, text=True)
    lints = set(re.findall(r"^\s+\* (.+?):$", result.stdout + result.stderr, re.MULTILINE))
    assert lints == {"Specify a conda environment or container for each rule."}


def test_docs_show_the_current_rulegraph() -> None:
    result = subprocess.run(
        [*SNAKEMAKE, "--rulegraph", "mermaid-js"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    page = (ROOT / "docs" / "pipeline.md").read_text()
    block = page.split("```mermaid\n")[1].split("```")[0]
    # Snakemake prints the edges in hash order: compare the lines as sets.
    assert set(block.strip().splitlines()) == set(result.stdout.strip().splitlines()), (
        "paste `snakemake --rulegraph mermaid-js` into docs/pipeline.md"
    )


def test_docs_say_which_rules_each_module_reruns() -> None:
    result = subprocess.run([*SNAKEMAKE, "--filegraph"], cwd=ROOT, capture_output=True, text=True, check=True)
    table = rerun_table(result.stdout)
    assert "| `tagger` | " in table  # read from the graph, not empty
    assert (ROOT / "docs" / "reruns.md").read_text() == table, (
        "regenerate: snakemake --filegraph | python -m rnnscope.dependencies > docs/reruns.md"
    )


def test_training_killed_mid_run_resumes_on_rerun(tmp_path: Path) -> None:
    """The training process dies (OOM killer, node loss): Snakemake fails the job and keeps its
    resume.pt; the plain rerun continues from it and completes, no cleanup needed."""
    work = copy_workflow(tmp_path)
    (work / "long.yaml").write_text("models: {srn_anbn: {train: {epochs: 400, restarts: 1}}}\n")
    # Targets go before --configfile, which takes every following word as a config file.
    command = [
        *SNAKEMAKE,
        "results/train/srn_anbn/metrics.json",
        "--cores",
        "1",
        "--configfile",
        "tiny.yaml",
        "source.yaml",
        "long.yaml",
    ]
    first = subprocess.Popen(
        command, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=CLEAN_ENV
    )
    resume = work / "results/train/srn_anbn/resume.pt"
    deadline = time.monotonic() + 120
    while not resume.exists() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    assert resume.exists(), "training never wrote resume.pt"
    killed = subprocess.run(["pkill", "-KILL", "-f", f"{work}/.snakemake/scripts/.*train.py"])
    assert killed.returncode == 0, "no training process to kill"
    first.communicate(timeout=60)  # reads and closes the pipe: no ResourceWarning, no full-pipe stall
    assert first.returncode != 0
    assert resume.exists() and not (work / "results/train/srn_anbn/metrics.json").exists()
    subprocess.run(command, cwd=work, capture_output=True, check=True, env=CLEAN_ENV)
    log = (work / "logs/train/srn_anbn.log").read_text()
    assert "resuming srn_anbn restart 0 from" in log
    metrics = json.loads((work / "results/train/srn_anbn/metrics.json").read_text())
    assert metrics["epochs"] == 400 and not resume.exists()
