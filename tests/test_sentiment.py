"""Yelp sentiment: Shen et al.'s polarity files, Zhang et al.'s CSV format, the GRU classifier."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rnnscope.sentiment import (
    PAD,
    build_sentence_vocab,
    prepare_sentiment,
    read_polarity_files,
    read_split,
    read_zhang_polarity_csv,
    split_frame,
    train_sentiment,
)
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
        assert frame["label"].iloc[0] == 0 and frame["text"].iloc[0].startswith("Unfortunately, the frustration of being Dr. Goldberg's patient")


def write_polarity(folder: Path, sentences: int = 120) -> list[Path]:
    paths = []
    for part in ("dev", "test"):
        for label, words in ((0, ["bad", "awful", "rude"]), (1, ["great", "love", "nice"])):
            path = folder / f"sentiment.{part}.{label}"
            path.write_text("".join(f"the food was {words[i % 3]} and the staff {i % 5}\n" for i in range(sentences // 4)))
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


def test_gru_classifier_learns_the_sentiment_words(tmp_path: Path) -> None:
    prepare_sentiment(write_polarity(tmp_path, 400), [0.8, 0.1, 0.1], 0, 50, tmp_path / "data")
    assert len(read_split(tmp_path / "data" / "train.tsv")) == 320
    model = {"cell": "gru", "hidden": 8, "layers": 1, "embedding": 8}
    train = {"epochs": 5, "batch_size": 16, "lr": 0.01, "seed": 0}
    out = tmp_path / "m"
    out.mkdir()
    metrics = train_sentiment(tmp_path / "data", model, train, out / "model.pt", out / "metrics.json", out / "history.csv", "gru")
    assert metrics["splits"]["test"]["accuracy"] > 0.9 > metrics["splits"]["test"]["majority_accuracy"]
    assert len(pd.read_csv(out / "history.csv")) == 5
    table = sentiment_table([out / "metrics.json"], {"gru": {"model": model, "train": train}}, tmp_path / "sentiment.csv")
    assert list(table.columns[:4]) == ["model", "config", "test_accuracy", "valid_accuracy"]
    assert table["test_accuracy"].iloc[0] == json.loads((out / "metrics.json").read_text())["splits"]["test"]["accuracy"]
