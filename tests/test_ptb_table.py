"""The PTB word-LM perplexity table: ours beside the published numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from rnnscope.tables import RNNVIS_PTB, ZAREMBA_PTB, ptb_perplexity_table


def write_metrics(folder: Path, model: str, valid_nats: float, test_nats: float) -> Path:
    path = folder / model / "metrics.json"
    path.parent.mkdir(parents=True)
    splits = {
        split: {"loss_nats": nats, "ppl": math.exp(nats)}
        for split, nats in (("valid", valid_nats), ("test", test_nats))
    }
    path.write_text(
        json.dumps(
            {
                "model": model,
                "epochs": 2,
                "parameters": 1234,
                "train_tokens_used": 100000,
                "train_seconds": 12.5,
                "device": "cpu",
                "splits": splits,
            }
        )
    )
    return path


MODELS = {
    "small": {
        "dataset": "ptb",
        "reference": "lstm_small",
        "model": {"cell": "lstm", "layers": 2, "hidden": 64, "embedding": 64},
        "train": {},
    },
    "gru": {
        "dataset": "ptb",
        "reference": "gru",
        "model": {"cell": "gru", "layers": 2, "hidden": 128, "embedding": 128},
        "train": {"optimizer": "adam", "lr": 0.002, "output_bias": "unigram"},
    },
}


def test_ptb_table_puts_ours_beside_rnnvis_and_zaremba(tmp_path: Path) -> None:
    paths = [write_metrics(tmp_path, "small", 6.0, 5.9), write_metrics(tmp_path, "gru", 6.2, 6.1)]
    table = ptb_perplexity_table(paths, MODELS, tmp_path / "ptb.csv")
    assert list(table.columns) == [
        "model",
        "reference",
        "config",
        "parameters",
        "valid_ppl",
        "test_ppl",
        "rnnvis_model",
        "rnnvis_valid_ppl",
        "rnnvis_test_ppl",
        "zaremba_model",
        "zaremba_valid_ppl",
        "zaremba_test_ppl",
        "train_seconds",
        "device",
    ]
    small, gru = table.iloc[0], table.iloc[1]
    assert small["valid_ppl"] == pytest.approx(math.exp(6.0)) and small["test_ppl"] == pytest.approx(math.exp(5.9))
    assert small["config"] == "2x64 lstm, emb 64, 2 epochs, 100000 train tokens"
    assert gru["config"] == "2x128 gru, emb 128, 2 epochs, 100000 train tokens, adam, lr 0.002, unigram output bias"
    assert (small["rnnvis_valid_ppl"], small["rnnvis_test_ppl"]) == (118.6, 115.7)
    assert (small["zaremba_valid_ppl"], small["zaremba_test_ppl"]) == (120.7, 114.5)
    assert (gru["rnnvis_valid_ppl"], gru["rnnvis_test_ppl"]) == (119.1, 116.4)
    assert pd.isna(gru["zaremba_valid_ppl"])  # Zaremba et al. trained LSTMs only
    assert pd.read_csv(tmp_path / "ptb.csv").shape == table.shape
    assert (tmp_path / "ptb.md").read_text().startswith("PTB word-level perplexity")
    assert set(ZAREMBA_PTB) < set(RNNVIS_PTB)


def test_ptb_table_rejects_a_model_without_reference(tmp_path: Path) -> None:
    path = write_metrics(tmp_path, "small", 6.0, 5.9)
    with pytest.raises(ValueError, match="reference None"):
        ptb_perplexity_table([path], {"small": {**MODELS["small"], "reference": None}}, tmp_path / "ptb.csv")
