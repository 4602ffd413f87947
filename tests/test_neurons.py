from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from rnnscope import neurons
from rnnscope.extract import extract_states
from rnnscope.hypotheses import label_split
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.neurons import (
    ABLATION_COLUMNS,
    AblationSweep,
    NeuronSettings,
    Probe,
    ablation_rows,
    analyse_neurons,
    char_cells,
    mean_loss,
    run_states,
    silence_units,
)
from rnnscope.probes import ProbeSettings, fit_probes
from rnnscope.rankings import (
    RANKINGS,
    ElasticNetSettings,
    RankingSettings,
    analyse_rankings,
    elastic_net_order,
    mean_difference_order,
    ranking_summary,
)
from rnnscope.states import read_matrices, read_tokens

torch.set_num_threads(1)  # tiny matrices on a shared machine
TEXT = "".join(
    f"{name} Citizen:\nWe are all resolved rather to die than to famish, {word}.\n\n"
    for name, word in [("First", "Speak"), ("Second", "resolved"), ("All", "Caius"), ("Third", "lords")] * 12
)
VOCAB = sorted(set(TEXT))
# Train on 7 of TEXT's 12 repeats, test on 5: equal halves would be the same token stream, which fit_probes refuses.
SPLIT_AT = 7 * len(TEXT) // 12


def toy_model(cell: str, seed: int = 0) -> RNNModel:
    torch.manual_seed(seed)
    return RNNModel(
        ModelConfig(cell=cell, vocab_size=len(VOCAB), hidden=10, layers=2, embedding=6, init_range=0.5)
    ).eval()


def ids_of(text: str) -> np.ndarray:
    return np.array([VOCAB.index(char) for char in text])


@torch.no_grad()
def reference_run(
    model: RNNModel, ids: np.ndarray, layer: int, units: list[int]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The ablation by definition: a step loop over cells, zeroing h (and c) of ``units`` after every step."""
    config, rnn = model.config, model.rnn
    x = model.embed(torch.from_numpy(ids)[None])[0]
    states = {}
    for index in range(config.layers):
        cell_class = nn.LSTMCell if config.cell == "lstm" else nn.GRUCell
        cell = cell_class(x.shape[1], config.hidden)
        cell.load_state_dict(
            {f"{name}": getattr(rnn, f"{name}_l{index}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        )
        h, c = torch.zeros(1, config.hidden), torch.zeros(1, config.hidden)
        hs, cs = [], []
        for step in range(len(ids)):
            if config.cell == "lstm":
                h, c = cell(x[step][None], (h, c))
            else:
                h = cell(x[step][None], h)
            if index == layer:
                h, c = h.clone(), c.clone()
                h[0, units] = 0.0
                c[0, units] = 0.0
            hs.append(h[0])
            cs.append(c[0])
        x = torch.stack(hs)
        states[f"l{index}_h"] = x.numpy()
        if config.cell == "lstm":
            states[f"l{index}_c"] = torch.stack(cs).numpy()
    log_probs = torch.log_softmax(model.decoder(x[:-1]), dim=-1)
    return states, log_probs[torch.arange(len(ids) - 1), torch.from_numpy(ids[1:])].numpy()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("layer", [0, 1])
def test_silencing_equals_zeroing_the_unit_at_every_step(cell: str, layer: int) -> None:
    model = toy_model(cell)
    ids = ids_of(TEXT[:300])
    kinds = ["h", "c"] if cell == "lstm" else ["h"]
    units = [2, 7]
    states, log_prob = run_states(model, ids, kinds, silenced=(layer, units))
    expected, expected_log_prob = reference_run(model, ids, layer, units)
    for column, values in expected.items():
        np.testing.assert_allclose(states[column], values, atol=2e-5, err_msg=column)
    np.testing.assert_allclose(log_prob[:-1], expected_log_prob, atol=2e-5)
    assert np.isnan(log_prob[-1])  # the last character predicts nothing
    for kind in kinds:
        assert (states[f"l{layer}_{kind}"][:, units] == 0).all()  # zero at every step
    # ...and the ablation did something: the other units and the loss moved.
    intact, intact_log_prob = run_states(model, ids, kinds)
    assert not np.allclose(intact_log_prob[:-1], log_prob[:-1], atol=1e-3)
    assert np.abs(intact[f"l{layer}_h"][:, units]).max() > 0.01  # the units were active before


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_silencing_nothing_changes_nothing_and_matches_extraction(cell: str, tmp_path: Path) -> None:
    model = toy_model(cell)
    text = TEXT[:500]
    kinds = ["h", "c"] if cell == "lstm" else ["h"]
    states, log_prob = run_states(model, ids_of(text), kinds)
    silenced_none, silenced_none_log_prob = run_states(model, ids_of(text), kinds, silenced=(1, []))
    for column in states:
        assert np.array_equal(states[column], silenced_none[column])
    assert np.array_equal(log_prob, silenced_none_log_prob, equal_nan=True)
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), silence_units(model, 0, []).state_dict().values(), strict=True)
    )
    # The in-memory runner gives what extraction writes.
    checkpoint, vocab = tmp_path / "model.pt", tmp_path / "vocab.json"
    torch.save({"model_config": model.config.to_dict(), "state_dict": model.state_dict()}, checkpoint)
    vocab.write_text(json.dumps({"tokens": VOCAB}))
    (tmp_path / "text.txt").write_text(text)
    extract_states(
        checkpoint, tmp_path / "text.txt", vocab, tmp_path / "states.parquet", "toy", kinds=kinds, chunk_len=128
    )
    extracted = read_matrices(tmp_path / "states.parquet", list(states))
    for column in states:
        np.testing.assert_allclose(states[column], extracted[column], atol=1e-5, err_msg=column)
    logprob_next = read_tokens(tmp_path / "states.parquet").column("logprob_next").to_numpy()
    np.testing.assert_allclose(log_prob[:-1], logprob_next[:-1], atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_streams_equal_each_segment_run_alone(cell: str) -> None:
    model = toy_model(cell)
    ids = ids_of(TEXT[:403])  # 3 ids past 4 equal streams of 100
    kinds = ["h", "c"] if cell == "lstm" else ["h"]
    states, log_prob = run_states(model, ids, kinds, silenced=(0, [4]), streams=4)
    segments = [run_states(model, ids[start : start + 100], kinds, silenced=(0, [4])) for start in range(0, 400, 100)]
    for column in states:
        assert states[column].shape == (400, 10)
        np.testing.assert_allclose(
            states[column], np.concatenate([segment[0][column] for segment in segments]), atol=1e-5, err_msg=column
        )
    # A stream's last character predicts nothing (NaN); every other prediction is the segment's own.
    assert np.isnan(log_prob[99::100]).all() and np.isnan(log_prob).sum() == 4
    np.testing.assert_allclose(log_prob, np.concatenate([segment[1] for segment in segments]), atol=1e-5)
    assert mean_loss(log_prob, np.arange(400)) == pytest.approx(-np.nanmean(log_prob))
    with pytest.raises(ValueError, match="at least 2 tokens"):
        run_states(model, ids[:5], kinds, streams=3)


def test_silencing_rejects_units_outside_the_layer() -> None:
    with pytest.raises(ValueError, match="2 layers of 10 units"):
        silence_units(toy_model("gru"), 0, [10])


def test_char_cells_break_lines_at_newlines_and_wrap() -> None:
    rows, cols = char_cells("ab\ncdefg", width=3)
    assert rows.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert cols.tolist() == [0, 1, 2, 0, 1, 2, 0, 1]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory, tagger_data: Path) -> dict[str, Path]:
    """A toy LSTM's states and capitalized_word labels on 7/12 and 5/12 of TEXT, probes fitted."""
    folder = tmp_path_factory.mktemp("neurons")
    model = toy_model("lstm", seed=1)
    paths = {"checkpoint": folder / "model.pt", "vocab": folder / "vocab.json"}
    torch.save({"model_config": model.config.to_dict(), "state_dict": model.state_dict()}, paths["checkpoint"])
    paths["vocab"].write_text(json.dumps({"tokens": VOCAB}))
    for split, text in (("train", TEXT[:SPLIT_AT]), ("test", TEXT[SPLIT_AT:])):
        paths[f"{split}_text"] = folder / f"{split}.txt"
        paths[f"{split}_text"].write_text(text)
        paths[f"{split}_states"] = folder / f"{split}_states.parquet"
        paths[f"{split}_labels"] = folder / f"{split}_labels.parquet"
        extract_states(
            paths["checkpoint"],
            paths[f"{split}_text"],
            paths["vocab"],
            paths[f"{split}_states"],
            "toy",
            kinds=["h", "c"],
        )
        label_split(paths[f"{split}_text"], "char_text", paths[f"{split}_labels"], tagger_data=tagger_data)
    settings = ProbeSettings(
        max_train_rows=10_000,
        max_test_rows=10_000,
        max_iter=300,
        C=1.0,
        seed=0,
        weightings=("plain", "balanced"),
        standardize=True,
        n_jobs=1,
        warmup_tokens=0,
    )
    paths["metrics"], paths["weights"] = folder / "metrics.csv", folder / "weights.npz"
    fit_probes(
        paths["train_states"],
        paths["test_states"],
        paths["train_labels"],
        paths["test_labels"],
        settings,
        paths["metrics"],
        paths["weights"],
        model="toy",
    )
    return paths | {"folder": folder}


def analyse(
    fitted: dict[str, Path], hypothesis: str, settings: NeuronSettings, csv: Path, png: Path, **extra: Any
) -> pd.DataFrame:
    """analyse_neurons on the fitted toy model's files."""
    names = ("checkpoint", "test_text", "vocab", "test_labels", "metrics", "weights")
    return analyse_neurons(*(fitted[name] for name in names), hypothesis, settings, csv, png, model_name="toy", **extra)


def test_saved_probe_reproduces_its_test_predictions(fitted: dict[str, Path]) -> None:
    metrics = pd.read_csv(fitted["metrics"])
    row = metrics[
        (metrics["hypothesis"] == "capitalized_word")
        & (metrics["weighting"] == "balanced")
        & (metrics["layer"] == 1)
        & (metrics["kind"] == "h")
    ].iloc[0]
    probe = Probe.load(fitted["weights"], "l1_h/capitalized_word/balanced")
    states = read_matrices(fitted["test_states"], ["l1_h"])["l1_h"]
    labels = pd.read_parquet(fitted["test_labels"])["capitalized_word"].to_numpy(dtype=bool)
    predicted = probe.predict(states)
    true_positive = (predicted & labels).sum()
    f1 = 2 * true_positive / (predicted.sum() + labels.sum())
    assert f1 == pytest.approx(row["f1"])
    assert probe.top_units(1) == [row["top_unit"]]


def test_analyse_neurons_writes_table_and_heatmap(fitted: dict[str, Path]) -> None:
    folder = fitted["folder"]
    settings = NeuronSettings(
        kinds=("h", "c"),
        weighting="balanced",
        k=(1, 3),
        random_repeats=2,
        seed=0,
        max_tokens=100_000,
        heatmap_chars=200,
        heatmap_width=60,
    )
    table = analyse(
        fitted,
        "capitalized_word",
        settings,
        folder / "ablation.csv",
        folder / "heatmap.png",
        heatmap_json=folder / "heatmap.json",
    )
    assert list(pd.read_csv(folder / "ablation.csv").columns) == ABLATION_COLUMNS
    shown = json.loads((folder / "heatmap.json").read_text())  # the explorer's copy of the heatmap
    assert shown["status"] == "ok" and len(shown["text"]) == len(shown["activation"]) == len(shown["labels"]) == len(
        shown["probability"]
    )
    test_text = Path(fitted["test_text"]).read_text(encoding="utf-8")
    assert shown["text"] == test_text[shown["start"] : shown["start"] + len(shown["text"])] and set(
        shown["labels"]
    ) <= {0, 1}
    # 2 layers x 2 kinds x 2 values of k x (top + 2 random draws)
    assert len(table) == 2 * 2 * 2 * 3 and (table["status"] == "ok").all()
    # The whole test split is used, so F1 before ablation is the probe table's F1.
    np.testing.assert_allclose(table["f1_before"], table["f1_probe_table"], atol=1e-9)
    top1 = table[(table["ranking"] == "probe_weight") & (table["k"] == 1)]
    metrics = pd.read_csv(fitted["metrics"]).set_index(["layer", "kind", "hypothesis", "weighting"])
    assert [int(units) for units in top1["units"]] == [
        metrics.loc[(r.layer, r.kind, "capitalized_word", "balanced"), "top_unit"] for r in top1.itertuples()
    ]
    random = table[table["ranking"] == "random"]
    assert all(
        not set(r.units.split())
        & set(
            table[
                (table["ranking"] == "probe_weight")
                & (table["k"] == r.k)
                & (table["layer"] == r.layer)
                & (table["kind"] == r.kind)
            ]["units"]
            .item()
            .split()
        )
        for r in random.itertuples()
    )
    assert (table["loss_all_after"] != table["loss_all_before"]).all()
    assert (folder / "heatmap.png").stat().st_size > 20_000
    # As 4 streams (zero state at each segment's start) the same ablations run on a whole number of segments.
    streamed = analyse(
        fitted,
        "capitalized_word",
        NeuronSettings(**{**vars(settings), "streams": 4}),
        folder / "streamed.csv",
        folder / "streamed.png",
    )
    assert (
        len(streamed) == len(table) and (streamed["n_chars"] == len(TEXT) - SPLIT_AT - (len(TEXT) - SPLIT_AT) % 4).all()
    )
    assert streamed["units"].tolist() == table["units"].tolist()
    assert (streamed["streams"] == 4).all() and (table["streams"] == 1).all()  # the table says how the text was run
    with pytest.raises(ValueError, match="lower neurons.streams"):
        analyse(
            fitted,
            "capitalized_word",
            NeuronSettings(**{**vars(settings), "streams": 10_000}),
            folder / "x.csv",
            folder / "x.png",
        )
    assert not (folder / "x.csv").exists()
    with pytest.raises(ValueError, match="lower probe.warmup_tokens"):
        analyse(
            fitted,
            "capitalized_word",
            settings,
            folder / "x.csv",
            folder / "x.png",
            warmup_tokens=len(TEXT),
        )
    assert not (folder / "x.csv").exists()


def test_analyse_neurons_explains_a_skipped_probe(fitted: dict[str, Path]) -> None:
    folder = fitted["folder"]
    settings = NeuronSettings(
        kinds=("h",),
        weighting="plain",
        k=(1,),
        random_repeats=1,
        seed=0,
        max_tokens=1000,
        heatmap_chars=100,
        heatmap_width=60,
    )
    # Tiny Shakespeare-like text has no parentheses: the probe was skipped for one class.
    table = analyse(
        fitted,
        "inside_parentheses",
        settings,
        folder / "skipped.csv",
        folder / "skipped.png",
        heatmap_json=folder / "skipped.json",
    )
    assert json.loads((folder / "skipped.json").read_text())["status"] == "skipped"
    assert len(table) == 1 and table["status"].item().startswith("skipped:") and "class" in table["status"].item()
    assert (folder / "skipped.png").exists()
    with pytest.raises(ValueError, match="continuous"):
        analyse(
            fitted,
            "paren_depth",
            settings,
            folder / "x.csv",
            folder / "x.png",
        )


# Unit rankings judged by ablation (rnnscope.rankings).


def test_mean_difference_orders_units_by_the_class_means_gap() -> None:
    states = np.array([[1.0, 5.0, -3.0], [1.0, -5.0, -3.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    labels = np.array([True, True, False, False])
    # gaps |1 - 0| = 1, |0 - 0| = 0 (unit 1 swings but averages out), |-3 - 0| = 3
    assert mean_difference_order(states, labels).tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="both classes"):
        mean_difference_order(states, np.ones(4, dtype=bool))


@pytest.mark.parametrize("balanced", [False, True])
def test_elastic_net_puts_the_informative_unit_first(balanced: bool) -> None:
    rng = np.random.default_rng(0)
    states = rng.normal(size=(2000, 8))
    states[:, 2] *= 10  # a loud unit: standardised away, so its scale does not rank it
    labels = states[:, 5] + 0.3 * rng.normal(size=2000) > 0.8  # imbalanced: about 20 % true
    order = elastic_net_order(states, labels, ElasticNetSettings(l1_ratio=0.5, C=0.1), balanced, seed=0)
    assert order[0] == 5 and sorted(order.tolist()) == list(range(8))


def toy_probes(model: RNNModel) -> dict[tuple[int, str], Probe]:
    """An h probe per layer of ``model`` with fixed made-up weights, not standardised."""
    rng = np.random.default_rng(3)
    return {
        (layer, "h"): Probe(coef=rng.normal(size=model.config.hidden), intercept=0.1, mean=None, scale=None)
        for layer in range(model.config.layers)
    }


def test_ablation_rows_cover_every_ranking_and_k_running_each_unit_set_once(monkeypatch: pytest.MonkeyPatch) -> None:
    model = toy_model("gru")
    text = TEXT[:400]
    ids, labels = ids_of(text), np.array([char.isupper() for char in text])
    probes = toy_probes(model)
    # elastic_net agrees with the probe; mean_difference is the probe's order reversed.
    orders = {
        key: {
            "probe_weight": probe.unit_order(),
            "elastic_net": probe.unit_order(),
            "mean_difference": probe.unit_order()[::-1],
        }
        for key, probe in probes.items()
    }
    sweep = AblationSweep(RANKINGS, k=(1, 2, 6), random_repeats=2, seed=0)  # 6: 2k > 10 units, skipped
    silenced_sets = []

    def counting_run_states(*args: Any, **kwargs: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
        silenced_sets.append(kwargs.get("silenced"))
        return run_states(*args, **kwargs)

    monkeypatch.setattr(neurons, "run_states", counting_run_states)
    base = {"model": "toy", "hypothesis": "upper", "weighting": "balanced"}
    table = pd.DataFrame(ablation_rows(model, ids, labels, probes, orders, sweep, base), columns=ABLATION_COLUMNS)

    ok = table[table["status"] == "ok"]
    for layer in (0, 1):
        for k in (1, 2):
            rows = ok[(ok["layer"] == layer) & (ok["k"] == k)]
            assert rows["ranking"].tolist() == [*RANKINGS, "random", "random"]
        skipped = table[(table["layer"] == layer) & (table["k"] == 6)]
        assert skipped["ranking"].tolist() == list(RANKINGS) and skipped["status"].str.startswith("skipped").all()
    # The agreeing rankings share one run: identical rows but for the ranking's name.
    measured = ["units", "f1_after", "loss_true_after", "loss_all_after"]
    agreeing = ok.set_index(["layer", "k", "ranking"])[measured]
    pd.testing.assert_frame_equal(
        agreeing.xs("probe_weight", level="ranking"), agreeing.xs("elastic_net", level="ranking")
    )
    assert (agreeing.xs("probe_weight", level="ranking") != agreeing.xs("mean_difference", level="ranking")).all(
        axis=None
    )
    ablations = [entry for entry in silenced_sets if entry is not None]
    distinct = {(layer, frozenset(units)) for layer, units in ablations}
    assert silenced_sets.count(None) == 1 and len(ablations) == len(distinct)
    unit_sets = ok["units"].map(lambda units: frozenset(int(unit) for unit in units.split()))
    assert distinct == set(zip(ok["layer"], unit_sets, strict=True))


def test_ranking_summary_marks_the_ranking_that_hurts_the_true_characters_most() -> None:
    base = {"model": "m", "hypothesis": "h", "weighting": "balanced", "layer": 0, "kind": "h", "n_chars": 100}
    base |= {"streams": 1, "f1_before": 0.8, "loss_true_before": 2.0, "status": "ok"}
    rows = [
        # k = 1: mean_difference hurts most; probe_weight and elastic_net chose the same unit.
        {"k": 1, "ranking": "probe_weight", "units": "3", "loss_true_after": 2.5, "f1_after": 0.5},
        {"k": 1, "ranking": "elastic_net", "units": "3", "loss_true_after": 2.5, "f1_after": 0.5},
        {"k": 1, "ranking": "mean_difference", "units": "7", "loss_true_after": 3.0, "f1_after": 0.7},
        {"k": 1, "ranking": "random", "units": "1", "loss_true_after": 2.1, "f1_after": 0.8},
        {"k": 1, "ranking": "random", "units": "5", "loss_true_after": 2.3, "f1_after": 0.6},
        # k = 2: a tie between probe_weight and elastic_net (the same units): both best.
        {"k": 2, "ranking": "probe_weight", "units": "3 7", "loss_true_after": 3.5, "f1_after": 0.2},
        {"k": 2, "ranking": "elastic_net", "units": "7 3", "loss_true_after": 3.5, "f1_after": 0.2},
        {"k": 2, "ranking": "mean_difference", "units": "7 1", "loss_true_after": 3.2, "f1_after": 0.4},
        {"k": 2, "ranking": "random", "units": "1 5", "loss_true_after": 2.2, "f1_after": 0.7},
        {"k": 4, "ranking": "probe_weight", "status": "skipped: 2k > 6 units"},
    ]
    summary = ranking_summary(pd.DataFrame([base | row for row in rows]))
    assert summary["ranking"].tolist() == [*RANKINGS, *RANKINGS]  # random rows and skipped ones left out
    by = summary.set_index(["k", "ranking"])
    assert by["best_by_loss_true"].to_dict() == {
        (1, "probe_weight"): False,
        (1, "elastic_net"): False,
        (1, "mean_difference"): True,
        (2, "probe_weight"): True,
        (2, "elastic_net"): True,
        (2, "mean_difference"): False,
    }
    assert by.loc[(1, "mean_difference"), "loss_true_increase"] == pytest.approx(1.0)
    assert by.loc[(1, "probe_weight"), "f1_drop"] == pytest.approx(0.3)
    assert by.loc[(1, "probe_weight"), "random_loss_true_increase_mean"] == pytest.approx(0.2)
    assert by.loc[(1, "probe_weight"), "random_loss_true_increase_min"] == pytest.approx(0.1)
    assert by.loc[(1, "probe_weight"), "random_loss_true_increase_max"] == pytest.approx(0.3)
    assert by.loc[(2, "mean_difference"), "random_f1_drop_mean"] == pytest.approx(0.1)


RANKING_SETTINGS = RankingSettings(
    enabled=True,
    methods=RANKINGS,
    kinds=("h", "c"),
    weighting="balanced",
    C=1.0,
    k=(1, 3),
    random_repeats=2,
    seed=0,
    fit_tokens=5000,
    max_tokens=5000,
)


def rank(fitted: dict[str, Path], hypothesis: str, name: str) -> pd.DataFrame:
    """analyse_rankings on the fitted toy model's files (no probe-stage output read)."""
    names = ("checkpoint", "vocab", "train_text", "train_labels", "test_text", "test_labels")
    folder = fitted["folder"]
    return analyse_rankings(
        *(fitted[name] for name in names),
        hypothesis,
        RANKING_SETTINGS,
        folder / f"{name}.csv",
        folder / f"{name}.png",
        model_name="toy",
        warmup_tokens=5,
    )


def test_analyse_rankings_ablates_every_ranking_of_every_layer_and_kind(fitted: dict[str, Path]) -> None:
    table = rank(fitted, "capitalized_word", "rankings")
    assert (table["status"] == "ok").all() and (table["n_chars"] == len(TEXT) - SPLIT_AT - 5).all()
    counts = table.groupby(["layer", "kind", "k", "ranking"]).size()
    # 2 layers x kinds h, c (an LSTM) x k in {1, 3} x (3 rankings + 2 random draws)
    assert len(counts) == 2 * 2 * 2 * 4 and counts.xs("random", level="ranking").eq(2).all()
    assert counts.drop("random", level="ranking").eq(1).all()
    assert (table["loss_all_after"] != table["loss_all_before"]).all()
    assert pd.read_csv(fitted["folder"] / "rankings.csv").shape == table.shape
    assert (fitted["folder"] / "rankings.png").stat().st_size > 20_000
    summary = ranking_summary(table.assign(model="toy"))
    assert len(summary) == 2 * 2 * 2 * 3 and summary.groupby(["layer", "kind", "k"])["best_by_loss_true"].any().all()


def test_analyse_rankings_explains_a_hypothesis_with_one_class(fitted: dict[str, Path]) -> None:
    # The toy text has no parentheses: no ranking can be fitted.
    table = rank(fitted, "inside_parentheses", "one_class")
    assert table["ranking"].tolist() == list(RANKINGS)
    assert table["status"].str.contains("are all False").all()
    assert (fitted["folder"] / "one_class.png").exists()
