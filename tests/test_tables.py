"""Final tables: probe table columns and baselines, aggregation over seeds, the side-by-side with
seed 003's figures, and the perplexity scale note."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnnscope.probes import METRIC_COLUMNS
from rnnscope.seed_tables import interval_verdict, perplexity_table, probe_comparison
from rnnscope.seed_values import SEED003_PERPLEXITY, SEED003_PROBES, seed_probe_value
from rnnscope.tables import Z, probe_seed_table, probe_table, seed_groups

SHAPE = {"cell": "gru", "hidden": 8, "layers": 2}
TRAIN = {"epochs": 1, "batch_size": 8, "seq_len": 32, "lr": 0.01}
MODELS = {
    "gru": {"dataset": "tinyshakespeare", "model": SHAPE, "train": TRAIN | {"seed": 0}},
    "gru_s1": {"dataset": "tinyshakespeare", "model": SHAPE, "train": TRAIN | {"seed": 1}},
    "gru_s2": {"dataset": "tinyshakespeare", "model": SHAPE, "train": TRAIN | {"seed": 2}},
    "gru_wide": {"dataset": "tinyshakespeare", "model": SHAPE | {"hidden": 16}, "train": TRAIN | {"seed": 1}},
}
REQUIRED = "model,dataset,cell,text,layer,kind,hypothesis,weighting,accuracy,precision,recall,f1,r2,top_unit,selectivity,n_train,n_test"


def test_seed_groups_join_only_models_differing_in_seed() -> None:
    assert seed_groups(MODELS) == {"gru": "gru", "gru_s1": "gru", "gru_s2": "gru", "gru_wide": "gru_wide"}


def metrics_frame(probed: str, accuracy: float, half_width: float | None = None) -> pd.DataFrame:
    """A probe metrics CSV as fit_probes writes it: layers 0-1 h, noun (both weightings) and a
    regression; with ``half_width``, intervals score ± half_width (else empty, bootstrap 0)."""
    rows = []
    for layer in (0, 1):
        for weighting in ("plain", "balanced"):
            score = accuracy + 0.1 * layer + (0.01 if weighting == "balanced" else 0)
            row = {
                "model": probed,
                "layer": layer,
                "kind": "h",
                "hypothesis": "noun",
                "target_kind": "binary",
                "weighting": weighting,
                "accuracy": score,
                "precision": score - 0.2,
                "recall": score - 0.3,
                "f1": score - 0.25,
                "majority_accuracy": 0.6,
                "control_accuracy": 0.55,
                "selectivity": score - 0.55,
                "top_unit": 3,
                "n_train": 100,
                "n_test": 50,
                "n_classes": 2,
                "status": "ok",
            }
            if half_width is not None:
                for metric in ("accuracy", "precision", "recall", "f1"):
                    row |= {f"{metric}_ci_low": row[metric] - half_width, f"{metric}_ci_high": row[metric] + half_width}
            rows.append(row)
        rows.append(
            {
                "model": probed,
                "layer": layer,
                "kind": "h",
                "hypothesis": "position_in_line",
                "target_kind": "continuous",
                "weighting": "none",
                "r2": accuracy,
                "control_r2": 0.1,
                "selectivity": accuracy - 0.1,
                "top_unit": 1,
                "n_train": 100,
                "n_test": 50,
                "status": "ok",
            }
        )
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


GENERATE = {"sequences": 100, "length": 500, "temperature": 0.8, "seed": 0, "primer": "\n", "test_fraction": 0.05}
# Real-text accuracies per model; generated-text ones for the gru group only (gru_wide has none).
REAL = {"gru": 0.7, "gru_s1": 0.72, "gru_s2": 0.74, "gru_wide": 0.8}
GENERATED = {"gru": 0.6, "gru_s1": 0.64, "gru_s2": 0.68}


@pytest.fixture()
def probes_csv(tmp_path: Path) -> Path:
    paths = []
    for model, accuracy in REAL.items():
        for probed, value in ((model, accuracy), (f"{model}_untrained", 0.5)):
            path = tmp_path / "probes" / probed / "metrics.csv"
            path.parent.mkdir(parents=True)
            metrics_frame(probed, value).to_csv(path, index=False)
            paths.append(path)
    for model, accuracy in GENERATED.items():
        frame = metrics_frame(model, accuracy)
        frame.insert(1, "text", "generated")  # as rnnscope.generated_probes writes it
        frame["majority_accuracy"] = 0.9  # generated text's own class balance
        path = tmp_path / "probes" / model / "generated_metrics.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    csv_path = tmp_path / "tables" / "probes.csv"
    probe_table(paths, MODELS, {}, csv_path)
    return csv_path


def test_probe_table_columns_and_untrained_rows(probes_csv: Path) -> None:
    table = pd.read_csv(probes_csv)
    assert set(REQUIRED.split(",")) <= set(table.columns)
    assert list(table.columns[:6]) == ["model", "dataset", "cell", "text", "states", "seed"]
    assert set(table["model"]) == set(MODELS) and set(table["text"]) == {"real", "generated"}
    real = table[table["text"] == "real"]
    assert real.groupby("model")["states"].value_counts().unstack().eq(6).all().all()
    untrained = real[real["states"] == "untrained"]
    first = untrained[
        (untrained["hypothesis"] == "noun") & (untrained["layer"] == 0) & (untrained["weighting"] == "plain")
    ]
    assert len(first) == 4 and (first["accuracy"] == 0.5).all()
    assert probes_csv.with_suffix(".md").read_text().startswith("Diagnostic classifiers")


def test_probes_by_seed_mean_std_and_count(probes_csv: Path) -> None:
    by_seed = pd.read_csv(probes_csv.with_name("probes_by_seed.csv"))
    assert {"n_seeds", "accuracy_mean", "accuracy_std", "selectivity_mean", "r2_mean"} <= set(by_seed.columns)
    noun = by_seed[
        (by_seed["model"] == "gru")
        & (by_seed["states"] == "trained")
        & (by_seed["hypothesis"] == "noun")
        & (by_seed["layer"] == 0)
        & (by_seed["weighting"] == "plain")
        & (by_seed["text"] == "real")
    ]
    assert len(noun) == 1
    row = noun.iloc[0]
    assert row["n_seeds"] == 3 and row["models"] == "gru;gru_s1;gru_s2"
    assert row["accuracy_mean"] == pytest.approx(0.72)
    assert row["accuracy_std"] == pytest.approx(np.std([0.7, 0.72, 0.74], ddof=1))
    wide = by_seed[(by_seed["model"] == "gru_wide") & (by_seed["hypothesis"] == "noun")]
    assert set(wide["text"]) == {"real"}
    assert (wide["n_seeds"] == 1).all() and wide["accuracy_std"].isna().all()


def test_comparison_puts_generated_seed_and_real_in_their_columns(probes_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "tables" / "probe_comparison.csv"
    comparison = probe_comparison(probes_csv, MODELS, GENERATE, out)
    # Last layer (1) h only, classifier hypotheses only.
    assert set(comparison["layer"]) == {1} and set(comparison["hypothesis"]) == {"noun"}
    assert list(comparison.columns[comparison.columns.get_loc("metric") + 1 :][:3]) == [
        "generated_mean",
        "seed003",
        "real_mean",
    ]
    f1 = comparison[
        (comparison["model"] == "gru") & (comparison["states"] == "trained") & (comparison["metric"] == "f1")
    ]
    plain = f1[f1["weighting"] == "plain"].iloc[0]
    # Figure 6 (Tiny Shakespeare GRU), Nouns F1: 0.26 plain / 0.37 balanced.
    assert plain["seed003"] == 0.26 and f1[f1["weighting"] == "balanced"].iloc[0]["seed003"] == 0.37
    # generated: mean of 0.6, 0.64, 0.68 (+0.1 layer 1, -0.25 for F1); real: of 0.7, 0.72, 0.74
    assert plain["generated_mean"] == pytest.approx(0.64 + 0.1 - 0.25) and plain["real_mean"] == pytest.approx(
        0.72 + 0.1 - 0.25
    )
    assert plain["seed_hypothesis"] == "Nouns" and plain["generated_probes"] and plain["generated_n_seeds"] == 3
    markdown = out.with_suffix(".md").read_text()
    assert "### gru (tinyshakespeare, gru), layer 1 h, n = 3 seed(s)" in markdown
    # the caption names each column's protocol
    assert "100 independent samples of 500 characters at temperature 0.8" in markdown
    assert "fraction 0.05 of the samples for probe-test" in markdown and "split 95/5" in markdown
    gru_section = markdown.split("### gru (")[1].split("### ")[0]
    header = next(line for line in gru_section.splitlines() if line.startswith("| Hypothesis"))
    cells = [cell.strip() for cell in header.strip("|").split("|")]
    assert cells[:7] == [
        "Hypothesis",
        "Accuracy (gen.)",
        "Accuracy (seed)",
        "Accuracy (real)",
        "Precision (gen.)",
        "Precision (seed)",
        "Precision (real)",
    ]
    noun_line = next(line for line in gru_section.splitlines() if line.startswith("| noun (Nouns)"))
    values = dict(zip(cells, [cell.strip() for cell in noun_line.strip("|").split("|")], strict=True))
    # accuracy over seeds: generated 0.74 ± 0.04 (plain), 0.75 ± 0.04 (balanced); Figure 6: 0.91/0.77; real 0.82/0.83 ± 0.02
    assert values["Accuracy (gen.)"] == "0.74±0.04/0.75±0.04"
    assert values["Accuracy (seed)"] == "0.91/0.77"
    assert values["Accuracy (real)"] == "0.82±0.02/0.83±0.02"
    assert values["Majority acc. (gen.)"] == "0.90±0.00" and values["Majority acc. (real)"] == "0.60±0.00"
    assert values["Untrained acc. (real)"] == "0.60±0.00/0.61±0.00"  # 3 untrained seeds, all 0.6
    assert "No generated-text probes" not in gru_section


def test_comparison_says_when_a_model_has_no_generated_probes(probes_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "probe_comparison.csv"
    comparison = probe_comparison(probes_csv, MODELS, GENERATE, out)
    wide = comparison[(comparison["model"] == "gru_wide") & (comparison["states"] == "trained")]
    assert (
        not wide["generated_probes"].any() and wide["generated_mean"].isna().all() and wide["real_mean"].notna().all()
    )
    section = out.with_suffix(".md").read_text().split("### gru_wide (")[1]
    assert "No generated-text probes for this model" in section
    noun_line = next(line for line in section.splitlines() if line.startswith("| noun (Nouns)"))
    # accuracy: gen. empty (no fallback to real text), seed, real 0.9/0.91
    assert [cell.strip() for cell in noun_line.strip("|").split("|")][1:4] == ["-/-", "0.91/0.77", "0.90/0.91"]


def test_comparison_leaves_out_models_the_seed_does_not_report_on(probes_csv: Path, tmp_path: Path) -> None:
    table = pd.read_csv(probes_csv)
    table.loc[table["model"] == "gru_wide", "dataset"] = "anbn"
    table.to_csv(probes_csv, index=False)
    comparison = probe_comparison(probes_csv, MODELS, GENERATE, tmp_path / "comparison.csv")
    assert set(comparison["model"]) == {"gru"}
    table["cell"] = "srn"
    table.to_csv(probes_csv, index=False)
    assert probe_comparison(probes_csv, MODELS, GENERATE, tmp_path / "comparison.csv").empty
    assert "no model of a dataset and cell" in (tmp_path / "comparison.md").read_text()


def test_seed_values_transcribed_and_keyed_by_dataset_and_cell() -> None:
    assert set(SEED003_PROBES) == {
        ("linux", "lstm"),
        ("linux", "gru"),
        ("tinyshakespeare", "lstm"),
        ("tinyshakespeare", "gru"),
    }
    assert seed_probe_value("linux", "lstm", "indent_gt_3", "accuracy") == (0.98, 0.98)  # printed "0.98/98"
    assert seed_probe_value("linux", "gru", "inside_quotes", "recall") == (0.81, 0.99)
    assert seed_probe_value("tinyshakespeare", "lstm", "verb", "precision") == (0.68, 0.26)
    assert seed_probe_value("tinyshakespeare", "lstm", "inside_quotes", "f1") is None
    for figures in SEED003_PROBES.values():
        for metrics in figures.values():
            assert set(metrics) == {"accuracy", "precision", "recall", "f1"}
            assert all(0 <= value <= 1 for pair in metrics.values() for value in pair)


def test_perplexity_table_beside_the_seed_and_the_scale_note(tmp_path: Path) -> None:
    loss = 1.35
    metrics = {
        "model": "gru",
        "epochs": 1,
        "splits": {
            split: {"loss_nats": loss, "ppl": math.exp(loss), "bpc": loss / math.log(2), "tokens": 10}
            for split in ("train", "valid", "test")
        },
    }
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(metrics))
    out = tmp_path / "perplexity.csv"
    table = perplexity_table([path], {"gru": MODELS["gru"]}, {}, out)
    test = table[table["split"] == "test"].iloc[0]
    assert test["seed003_reported"] == SEED003_PERPLEXITY[("tinyshakespeare", "gru")] == 2.68
    assert table[table["split"] != "test"]["seed003_reported"].isna().all()
    assert test["pow2_nats"] == pytest.approx(2**1.35)
    caption = out.with_suffix(".md").read_text()
    # 2.68 read as e^L: L = ln 2.68 = 0.986 nats; as 2^L: L = log2 2.68 = 1.422 nats.
    assert "Seed tinyshakespeare gru 2.68: as e^L, L = 0.986 nats" in caption
    assert "as 2^L, L = 1.422 nats" in caption
    # Ours at 1.35 nats: e^L = 3.857, 2^L = 2.549, and 2^L is nearer 2.68.
    assert "Ours gru test: L = 1.350 nats, e^L = 3.857, 2^L = 2.549; 2^L is nearer the seed's 2.68." in caption


def test_generated_text_probes_are_rows_of_the_probe_table(tmp_path: Path) -> None:
    real, generated = tmp_path / "gru" / "metrics.csv", tmp_path / "gru" / "generated_metrics.csv"
    real.parent.mkdir()
    metrics_frame("gru", 0.7).to_csv(real, index=False)
    frame = metrics_frame("gru", 0.9)
    frame.insert(1, "text", "generated")  # as rnnscope.generated_probes writes it
    frame.to_csv(generated, index=False)
    table = probe_table([real, generated], MODELS, {}, tmp_path / "probes.csv")
    assert table.groupby("text").size().to_dict() == {"generated": 6, "real": 6}
    assert list(table.columns[:6]) == ["model", "dataset", "cell", "text", "states", "seed"]
    noun = table[(table["hypothesis"] == "noun") & (table["layer"] == 0) & (table["weighting"] == "plain")]
    assert noun.set_index("text")["accuracy"].to_dict() == pytest.approx({"real": 0.7, "generated": 0.9})


def test_interval_verdict_significant_only_for_disjoint_intervals() -> None:
    assert interval_verdict((0.80, 0.90), (0.60, 0.79)) == "above"
    assert interval_verdict((0.60, 0.79), (0.80, 0.90)) == "below"
    assert interval_verdict((0.80, 0.90), (0.60, 0.80)) == "n.s."  # touching intervals overlap
    assert interval_verdict((0.70, 0.90), (0.75, 0.80)) == "n.s."  # one inside the other
    assert interval_verdict((0.80, 0.90), (np.nan, np.nan)) == ""  # no interval: no verdict


def test_seed_table_interval_one_seed_own_several_the_means(tmp_path: Path) -> None:
    frames = [
        metrics_frame(model, accuracy, half_width=0.02).assign(model=model)
        for model, accuracy in (("gru", 0.7), ("gru_s1", 0.72), ("gru_s2", 0.74), ("gru_wide", 0.8))
    ]
    table = pd.concat(frames).assign(dataset="tinyshakespeare", cell="gru", text="real", states="trained")
    by_seed = probe_seed_table(table, MODELS)
    pick = (by_seed["hypothesis"] == "noun") & (by_seed["layer"] == 0) & (by_seed["weighting"] == "plain")
    wide, group = (
        by_seed[pick & (by_seed["model"] == "gru_wide")].iloc[0],
        by_seed[pick & (by_seed["model"] == "gru")].iloc[0],
    )
    assert (wide["accuracy_ci_low"], wide["accuracy_ci_high"]) == pytest.approx((0.78, 0.82))
    # Three seeds: mean 0.72 ± Z sqrt(0.02²/3 + (0.02/Z)²), wider than one seed's test-row interval.
    half = Z * math.sqrt(0.02**2 / 3 + (0.02 / Z) ** 2)
    assert (group["accuracy_ci_low"], group["accuracy_ci_high"]) == pytest.approx((0.72 - half, 0.72 + half))
    assert group["r2_ci_low"] != group["r2_ci_low"]  # no interval for a classifier's r2


def test_comparison_shows_intervals_and_says_significant_only_when_disjoint(tmp_path: Path) -> None:
    # Trained 0.7 (layer 1: 0.8) ± 0.02; untrained 0.75 (layer 1: 0.85) ± 0.1 overlaps, 0.5 ± 0.02 does not.
    for untrained_accuracy, untrained_width in ((0.75, 0.1), (0.5, 0.02)):
        folder = tmp_path / f"u{untrained_accuracy}"
        for probed, accuracy, width in (
            ("gru_wide", 0.7, 0.02),
            ("gru_wide_untrained", untrained_accuracy, untrained_width),
        ):
            path = folder / "probes" / probed / "metrics.csv"
            path.parent.mkdir(parents=True)
            metrics_frame(probed, accuracy, half_width=width).to_csv(path, index=False)
        probe_table(list((folder / "probes").glob("*/metrics.csv")), MODELS, {}, folder / "probes.csv")
        comparison = probe_comparison(folder / "probes.csv", MODELS, GENERATE, folder / "comparison.csv")
        trained = comparison[(comparison["states"] == "trained") & (comparison["metric"] == "accuracy")]
        expected = "n.s." if untrained_width == 0.1 else "above"
        assert set(trained["vs_untrained"]) == {expected}
        assert set(comparison.loc[comparison["metric"] == "selectivity", "vs_untrained"]) == {""}  # no interval
        markdown = (folder / "comparison.md").read_text()
        header = next(line for line in markdown.splitlines() if line.startswith("| Hypothesis"))
        cells = [cell.strip() for cell in header.strip("|").split("|")]
        values = [
            cell.strip()
            for cell in next(line for line in markdown.splitlines() if line.startswith("| noun")).strip("|").split("|")
        ]
        assert values[cells.index("Accuracy (real)")] == "0.80 [0.78, 0.82]/0.81 [0.79, 0.83]"
        assert values[cells.index("Acc. vs untrained (real)")] == f"{expected}/{expected}"
        assert "n.s. when they overlap (not significant)" in markdown
