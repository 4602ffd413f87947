"""Yelp sentiment: Shen et al.'s polarity files, Zhang et al.'s CSV format, the GRU classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnnscope.glyphs import sentence_glyphs
from rnnscope.models import ModelConfig, RNNModel, load_model
from rnnscope.responses import expected_response
from rnnscope.sentence_states import extract_sentence_states
from rnnscope.sentiment import (
    PAD,
    build_sentence_vocab,
    encode_sentences,
    prepare_sentiment,
    read_polarity_files,
    read_split,
    read_zhang_polarity_csv,
    split_frame,
)
from rnnscope.sentiment_training import accuracy, train_sentiment
from rnnscope.sentiment_views import polarity, run_sentiment_views_table, word_log_odds
from rnnscope.states import read_info
from rnnscope.tables import sentiment_table

ZHANG = Path(__file__).resolve().parents[2] / "shared" / "mirror" / "yelp" / "yelp_review_polarity_csv"


def test_zhang_csv_rows_labels_quotes_and_newlines(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text('1,"Bad. He said ""never"" again.\\nTwo lines."\n2,"Great, really."\n', encoding="utf-8")
    frame = read_zhang_polarity_csv(path)
    assert frame["label"].tolist() == [0, 1]
    assert frame["text"].tolist() == ['Bad. He said "never" again.\nTwo lines.', "Great, really."]
    path.write_text('3,"five stars"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="row 1: expected two columns, class 1 or 2"):
        read_zhang_polarity_csv(path)


@pytest.mark.parametrize(("name", "rows"), [("train.head5.csv", 5), ("test.head9.csv", 9)])
def test_zhang_head_files_of_the_mirror(name: str, rows: int) -> None:
    if not (ZHANG / name).exists():
        pytest.skip("no Zhang yelp_review_polarity_csv head files in the shared mirror here")
    frame = read_zhang_polarity_csv(ZHANG / name)
    assert len(frame) == rows and set(frame["label"]) <= {0, 1}
    assert frame["text"].str.len().min() > 20
    if name == "train.head5.csv":
        assert frame["label"].iloc[0] == 0 and frame["text"].iloc[0].startswith(
            "Unfortunately, the frustration of being Dr. Goldberg's patient"
        )


def write_polarity(folder: Path, sentences: int = 120) -> list[Path]:
    paths = []
    for part in ("dev", "test"):
        for label, words in ((0, ["bad", "awful", "rude"]), (1, ["great", "love", "nice"])):
            path = folder / f"sentiment.{part}.{label}"
            path.write_text(
                "".join(f"the food was {words[i % 3]} and the staff {i % 5}\n" for i in range(sentences // 4))
            )
            paths.append(path)
    return paths


def test_polarity_files_pool_and_split_with_a_fixed_seed(tmp_path: Path) -> None:
    frame = read_polarity_files(write_polarity(tmp_path))
    assert len(frame) == 120 and frame["label"].value_counts().to_dict() == {0: 60, 1: 60}
    parts = split_frame(frame, [0.8, 0.1, 0.1], seed=0)
    assert [len(parts[split]) for split in ("train", "valid", "test")] == [96, 12, 12]
    assert pd.concat(parts.values())["text"].sort_values().tolist() == frame["text"].sort_values().tolist()
    again = split_frame(frame, [0.8, 0.1, 0.1], seed=0)
    assert all(parts[split].equals(again[split]) for split in parts)
    with pytest.raises(ValueError, match="ends in .0 .negative. or .1"):
        read_polarity_files([tmp_path / "sentiment.dev.txt"])
    assert build_sentence_vocab(["a b a", "c a b"], 4) == [PAD, "<unk>", "a", "b"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GRU classifier trained on generated polarity sentences (folder: data/, m/model.pt, m/metrics.json)."""
    tmp_path = tmp_path_factory.mktemp("sentiment")
    prepare_sentiment(write_polarity(tmp_path, 400), [0.8, 0.1, 0.1], 0, 50, tmp_path / "data")
    out = tmp_path / "m"
    out.mkdir()
    train_sentiment(tmp_path / "data", MODEL, TRAIN, out / "model.pt", out / "metrics.json", out / "history.csv", "gru")
    return tmp_path


MODEL = {"cell": "gru", "hidden": 8, "layers": 1, "embedding": 8}
TRAIN = {"epochs": 5, "batch_size": 16, "lr": 0.01, "seed": 0}


def test_gru_classifier_learns_the_sentiment_words(trained: Path, tmp_path: Path) -> None:
    assert len(read_split(trained / "data" / "train.tsv")) == 320
    out = trained / "m"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["splits"]["test"]["accuracy"] > 0.9 > metrics["splits"]["test"]["majority_accuracy"]
    assert len(pd.read_csv(out / "history.csv")) == 5
    table = sentiment_table(
        [out / "metrics.json"], {"gru": {"model": MODEL, "train": TRAIN}}, tmp_path / "sentiment.csv"
    )
    assert list(table.columns[:4]) == ["model", "config", "test_accuracy", "valid_accuracy"]
    assert table["test_accuracy"].iloc[0] == metrics["splits"]["test"]["accuracy"]


def test_classifier_round_trips_through_load_model(trained: Path) -> None:
    """The sentiment GRU is an RNNModel: the language models' loader gives back the same accuracy."""
    model, payload = load_model(trained / "m" / "model.pt")
    assert isinstance(model, RNNModel) and model.config.classes == 2 and model.config.cell == "gru"
    assert payload["train_settings"] == TRAIN and model.decoder.out_features == 2
    vocab = json.loads((trained / "data" / "vocab.json").read_text())["tokens"]
    frame = read_split(trained / "data" / "test.tsv")
    encoded, lengths = encode_sentences(frame["text"].tolist(), vocab)
    labels = torch.tensor(frame["label"].to_numpy())
    test_accuracy, _ = accuracy(model, encoded, lengths, labels, 7)
    assert test_accuracy == json.loads((trained / "m" / "metrics.json").read_text())["splits"]["test"]["accuracy"]
    with pytest.raises(ValueError, match="cannot tie weights"):
        ModelConfig(cell="gru", vocab_size=10, hidden=8, embedding=8, tie_weights=True, classes=2)
    language_model = RNNModel(ModelConfig(cell="gru", vocab_size=10, hidden=8, embedding=8))
    with pytest.raises(ValueError, match="needs a classifier"):
        language_model.classify(torch.zeros(1, 3, dtype=torch.long), torch.tensor([3]))


def test_sentence_states_start_every_sentence_from_zero(trained: Path, tmp_path: Path) -> None:
    data = trained / "data"
    states = tmp_path / "train.parquet"
    rows = extract_sentence_states(
        trained / "m" / "model.pt", data / "train.tsv", data / "vocab.json", states, "gru", max_tokens=50
    )
    frame = pd.read_parquet(states)
    assert rows == len(frame) == 48  # six whole 8-word sentences fit in 50 tokens
    assert frame["sequence"].tolist() == np.repeat(np.arange(6), 8).tolist() and frame["position"].tolist() == list(
        range(48)
    )
    assert read_info(states).kinds == ("h", "r", "z", "n") and frame["logprob_next"].isna().all()
    texts = read_split(data / "train.tsv")["text"].head(6)
    assert frame["token"].tolist() == " ".join(texts).split()
    assert (frame.groupby("sequence")["next_token_id"].last() == -1).all()
    model, _ = load_model(trained / "m" / "model.pt")
    vocab = json.loads((data / "vocab.json").read_text())["tokens"]
    h = np.stack(frame["l0_h"].to_numpy())
    for sequence, text in enumerate(texts):
        ids = torch.tensor([[vocab.index(word) for word in text.split()]])
        alone, _ = model.rnn(model.embed(ids))  # this sentence only, from the zero state
        assert np.allclose(h[frame["sequence"] == sequence], alone[0].detach().numpy(), atol=1e-6)
    # Expected responses take Δh at a sentence's first word against zero, not the previous sentence.
    previous = np.vstack([np.zeros((1, h.shape[1])), h[:-1]])
    previous[frame["next_token_id"].shift(1, fill_value=-1).to_numpy() == -1] = 0.0
    deltas = pd.DataFrame(h - previous).groupby(frame["token"].to_numpy()).mean()
    tokens, response = expected_response(states, "l0_h", min_count=1)
    assert np.allclose(response, deltas.loc[tokens["token"]].to_numpy(), atol=1e-6)


def test_word_log_odds_against_the_base_rate() -> None:
    frame = pd.DataFrame({"text": ["good food", "good good", "good", "bad food"], "label": [1, 1, 1, 0]})
    lexicon = word_log_odds(frame).set_index("token")
    assert lexicon.loc["good", ["positive", "negative"]].tolist() == [3, 0]  # sentences, not occurrences
    assert np.isclose(lexicon.loc["good", "log_odds"], np.log(3.5 / 0.5) - np.log(3))
    assert np.isclose(lexicon.loc["bad", "log_odds"], np.log(0.5 / 1.5) - np.log(3))
    # food: in 1 of 3 positive and the 1 negative sentence, below the base rate
    assert polarity(lexicon["log_odds"], 0.5).tolist() == ["negative", "negative", "positive"]  # bad, food, good
    assert polarity(lexicon["log_odds"], 1.0).tolist() == ["negative", "negative", "neutral"]


def test_seed_side_by_side_table_on_hand_made_views(trained: Path, tmp_path: Path) -> None:
    """Hand-made co-clusters: positive words push units 0-3 up and 4-7 down, negative words the reverse."""
    data, checkpoint = trained / "data", trained / "m" / "model.pt"
    words = ["great", "love", "bad", "rude"]
    response = np.array([[1.0] * 4 + [-0.5] * 4] * 2 + [[-1.0] * 4 + [0.5] * 4] * 2)
    frame = pd.DataFrame({"token": words, "token_id": np.arange(4, dtype=np.int32), "count": [9, 8, 7, 6]})
    frame = frame.assign(**{f"u{unit}": response[:, unit] for unit in range(8)})
    frame.to_parquet(tmp_path / "responses.parquet")
    pd.DataFrame({"token": words, "cluster": [0, 0, 1, 1]}).to_csv(tmp_path / "words.csv", index=False)
    pd.DataFrame({"unit": range(8), "cluster": [0] * 4 + [1] * 4}).to_csv(tmp_path / "units.csv", index=False)
    edges = pd.DataFrame(
        {"word_cluster": [0, 0, 1, 1], "unit_cluster": [0, 1, 0, 1], "strength": [1.0, -0.5, -1.0, 0.5]}
    )
    edges.to_csv(tmp_path / "edges.csv", index=False)
    sentences = ["the food was great though the staff was rude", "the staff was rude though the food was great"]
    sentence_glyphs(checkpoint, data / "vocab.json", tmp_path / "units.csv", "l0_h", sentences).to_csv(
        tmp_path / "glyphs.csv", index=False
    )
    train = tmp_path / "train.tsv"
    pd.DataFrame(
        {"label": [1, 1, 0, 0, 1, 0], "text": ["great", "love it", "bad", "rude", "great love", "bad rude"]}
    ).to_csv(train, sep="\t", index=False)
    table = run_sentiment_views_table(
        ["gru"],
        train,
        data / "vocab.json",
        [tmp_path / "responses.parquet"],
        [tmp_path / "words.csv"],
        [tmp_path / "units.csv"],
        [tmp_path / "edges.csv"],
        [tmp_path / "glyphs.csv"],
        [checkpoint],
        0.5,
        tmp_path / "sentiment_views.csv",
    )
    value = table.set_index(["item", "measure"])["value"]
    assert value[("W0", "share of positive words")] == 1.0 and value[("W1", "share of negative words")] == 1.0
    assert value[("all word clusters", "polarity purity")] == 1.0
    assert value[("H0 (4 units)", "mean response s(x) to positive words")] == 1.0
    assert value[("H1 (4 units)", "mean response s(x) to negative words")] == 0.5
    assert value[("all units", "share of units answering positive and negative words with opposite signs")] == 1.0
    assert "H0 +1, H1 -0.5" in table.loc[table["item"] == "W0", "detail"].iloc[0]
    # 'though' (not in this vocabulary: read as <unk>) moves the state by ‖h_4 − h_3‖ of the sentence run alone.
    model, _ = load_model(checkpoint)
    vocab = json.loads((data / "vocab.json").read_text())["tokens"]
    norms = []
    for sentence in sentences:
        ids = torch.tensor([[vocab.index(w) if w in vocab else vocab.index("<unk>") for w in sentence.split()]])
        h = model.rnn(model.embed(ids))[0][0].detach().numpy()
        norms.append(np.linalg.norm(h[4] - h[3]))
        assert np.isclose(value[(sentence, "‖Δh‖ at 'though'")], norms[-1], atol=1e-6)
    assert np.isclose(
        value[("first vs second sentence", "‖Δh‖ at 'though': first / second")], norms[0] / norms[1], rtol=1e-5
    )
    updated = value[
        [
            (sentence, "updated information at 'though' (glyph: sum over clusters of abs(Δα+ + Δα−))")
            for sentence in sentences
        ]
    ]
    assert np.isclose(
        value[("first vs second sentence", "updated information at 'though': first / second")],
        updated.iloc[0] / updated.iloc[1],
    )
    caption = (tmp_path / "sentiment_views.md").read_text()
    assert "two different word clouds" in table["seed"].iloc[0] and "more impactful in the former" in caption
