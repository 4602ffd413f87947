from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from rnnscope.extract import extract_states
from rnnscope.hypotheses import label_split
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.neurons import (
    ABLATION_COLUMNS,
    NeuronSettings,
    Probe,
    analyse_neurons,
    char_cells,
    mean_loss,
    run_states,
    silence_units,
)
from rnnscope.probes import ProbeSettings, fit_probes
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
    top1 = table[(table["ablation"] == "top") & (table["k"] == 1)]
    metrics = pd.read_csv(fitted["metrics"]).set_index(["layer", "kind", "hypothesis", "weighting"])
    assert [int(units) for units in top1["units"]] == [
        metrics.loc[(r.layer, r.kind, "capitalized_word", "balanced"), "top_unit"] for r in top1.itertuples()
    ]
    random = table[table["ablation"] == "random"]
    assert all(
        not set(r.units.split())
        & set(
            table[
                (table["ablation"] == "top")
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
