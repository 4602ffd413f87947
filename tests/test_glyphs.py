from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnnscope.glyphs import glyph_quantities, run_glyphs, sentence_states, tokenize_sentence
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.train import TrainSettings, save_checkpoint


def test_glyph_quantities_by_hand() -> None:
    # units 0, 1 form cluster 0; unit 2 is cluster 1; h^(-1) = 0
    states = np.array([[0.5, -0.2, 0.1], [0.25, 0.4, -0.3], [0.5, 0.4, -0.15]])
    table = glyph_quantities(states, np.array([0, 0, 1]), n_clusters=2).set_index(["step", "cluster"])
    expected = {
        # step 0: everything is new, nothing preserved
        (0, 0): dict(
            size=2,
            alpha_pos=0.5,
            alpha_neg=-0.2,
            delta_alpha_pos=0.5,
            delta_alpha_neg=-0.2,
            updated=0.3,
            beta=0.0,
            preserved=0.0,
        ),
        (0, 1): dict(
            size=1,
            alpha_pos=0.1,
            alpha_neg=0.0,
            delta_alpha_pos=0.1,
            delta_alpha_neg=0.0,
            updated=0.1,
            beta=0.0,
            preserved=0.0,
        ),
        # step 1: unit 0 keeps |0.5| * (0.25 / 0.5) = 0.25; unit 1 flips sign (ratio -2 -> 0)
        (1, 0): dict(
            size=2,
            alpha_pos=0.65,
            alpha_neg=0.0,
            delta_alpha_pos=0.15,
            delta_alpha_neg=0.2,
            updated=0.35,
            beta=0.25,
            preserved=0.25 / 0.65,
        ),
        (1, 1): dict(
            size=1,
            alpha_pos=0.0,
            alpha_neg=-0.3,
            delta_alpha_pos=-0.1,
            delta_alpha_neg=-0.3,
            updated=0.4,
            beta=0.0,
            preserved=0.0,
        ),
        # step 2: unit 0 grows (ratio 2 -> 1): keeps 0.25; unit 1 unchanged keeps 0.4; unit 2 halves: 0.3 * 0.5
        (2, 0): dict(
            size=2,
            alpha_pos=0.9,
            alpha_neg=0.0,
            delta_alpha_pos=0.25,
            delta_alpha_neg=0.0,
            updated=0.25,
            beta=0.65,
            preserved=0.65 / 0.9,
        ),
        (2, 1): dict(
            size=1,
            alpha_pos=0.0,
            alpha_neg=-0.15,
            delta_alpha_pos=0.0,
            delta_alpha_neg=0.15,
            updated=0.15,
            beta=0.15,
            preserved=1.0,
        ),
    }
    for key, values in expected.items():
        for name, value in values.items():
            assert table.loc[key, name] == pytest.approx(value, abs=1e-12), (key, name)


def test_empty_cluster_state_has_no_preserved_fraction() -> None:
    table = glyph_quantities(np.array([[0.0, 1.0], [0.0, 1.0]]), np.array([0, 1]), n_clusters=2)
    zero = table[table["cluster"] == 0]
    assert zero["alpha_pos"].tolist() == [0.0, 0.0] and zero["preserved"].isna().all()
    assert table[(table["cluster"] == 1) & (table["step"] == 1)]["preserved"].item() == 1.0
    with pytest.raises(ValueError, match="do not match"):
        glyph_quantities(np.zeros((2, 3)), np.array([0, 1]), 2)


def test_tokenize_characters_words_and_unknowns() -> None:
    assert tokenize_sentence("ab a", ["a", "b", " "]) == ["a", "b", " ", "a"]
    with pytest.raises(ValueError, match="'z'"):
        tokenize_sentence("az", ["a", "b", " "])
    words = ["<unk>", "i", "love", "the", "food"]
    assert tokenize_sentence("i love the  pizza", words) == ["i", "love", "the", "<unk>"]
    with pytest.raises(ValueError, match="pizza"):
        tokenize_sentence("the pizza", ["the", "food"])
    with pytest.raises(ValueError, match="no tokens"):
        tokenize_sentence("   ", words)


def make_model(tmp_path: Path, cell: str, vocab: list[str]) -> tuple[Path, Path, RNNModel]:
    torch.manual_seed(3)
    model = RNNModel(
        ModelConfig(cell=cell, vocab_size=len(vocab), hidden=6, layers=2, embedding=4, init_range=0.9)
    ).eval()
    checkpoint = tmp_path / "model.pt"
    save_checkpoint(checkpoint, model, TrainSettings(epochs=1, batch_size=1, seq_len=4, lr=0.1), step=0, epoch=0)
    vocab_path = tmp_path / "vocab.json"
    vocab_path.write_text(json.dumps({"tokens": vocab}))
    return checkpoint, vocab_path, model


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_sentence_states_match_the_model_from_zero_state(tmp_path: Path, cell: str) -> None:
    vocab = ["<unk>", "i", "love", "the", "food"]
    checkpoint, vocab_path, model = make_model(tmp_path, cell, vocab)
    [(tokens, states)] = sentence_states(checkpoint, vocab_path, ["i love the pizza"], ["l1_h"])
    assert tokens == ["i", "love", "the", "<unk>"]
    with torch.no_grad():
        outputs, _ = model.rnn(model.embed(torch.tensor([[1, 2, 3, 0]])))
    np.testing.assert_allclose(states["l1_h"], outputs[0].numpy(), atol=1e-6)


def test_run_glyphs_writes_table_and_figure(tmp_path: Path) -> None:
    vocab = [" ", "a", "b", "c"]
    checkpoint, vocab_path, _ = make_model(tmp_path, "lstm", vocab)
    pd.DataFrame({"unit": range(6), "cluster": [0, 1, 2, 0, 1, 2]}).to_csv(tmp_path / "units.csv", index=False)
    out = tmp_path / "out"
    run_glyphs(
        checkpoint,
        vocab_path,
        tmp_path / "units.csv",
        "l0_c",
        ["ab c", "cab"],
        out / "glyphs.csv",
        out / "glyphs.png",
        "test",
    )
    table = pd.read_csv(out / "glyphs.csv", keep_default_na=False, na_values=[""])
    assert len(table) == (4 + 3) * 3
    assert table.groupby("sentence_index")["token"].apply(lambda t: "".join(t.iloc[::3])).tolist() == ["ab c", "cab"]
    assert (out / "glyphs.md").read_text().startswith("test.")
    assert (out / "glyphs.png").stat().st_size > 5000 and (out / "glyphs.svg").exists()
