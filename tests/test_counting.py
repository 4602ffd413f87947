"""Seed 000's counting figures (rnnscope.counting) on hand-made states whose answers are worked
out by hand: which positions count as deterministic, the argmax error there, the count read-out's
R² and the per-n table."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from rnnscope.counting import counting_summary, counting_table, plot_activation_space
from rnnscope.hypotheses import label_counting
from rnnscope.labels import write_labels
from rnnscope.states import StatesInfo, StatesWriter

SYMBOL_IDS = {"a": 0, "b": 1}


def write_counting_split(
    folder: Path, name: str, text: str, wrong: set[int], readout_offsets: dict[int, float]
) -> tuple[Path, Path]:
    """States and labels of ``text``. The hidden state is a hand-made perfect counter: (count seen,
    0) on an a and (0, count remaining / 2 + 0.1) on a b, plus ``readout_offsets`` at chosen
    positions; the argmax prediction is the true next symbol except at the positions in ``wrong``."""
    labels, kinds = label_counting(text)
    ids = np.array([SYMBOL_IDS[ch] for ch in text], dtype=np.int32)
    next_ids = np.append(ids[1:], -1).astype(np.int32)
    predicted = np.where(next_ids < 0, 0, next_ids).astype(np.int32)
    for position in wrong:
        predicted[position] = 1 - predicted[position]
    is_a = ids == 0
    remaining = labels["count_remaining"].to_numpy(dtype=float, na_value=0.0)
    hidden = np.stack([np.where(is_a, labels["count_seen"], 0.0), np.where(is_a, 0.0, remaining / 2 + 0.1)], axis=1)
    for position, offset in readout_offsets.items():
        hidden[position, 1] += offset
    states, label_path = folder / f"{name}_states.parquet", folder / f"{name}_labels.parquet"
    tokens = {
        "position": np.arange(len(text), dtype=np.int64),
        "token_id": ids,
        "token": np.array(list(text), dtype=object),
        "next_token_id": next_ids,
        "logprob_next": np.zeros(len(text), dtype=np.float32),
        "pred_id": predicted,
    }
    with StatesWriter(states, StatesInfo("srn_hand", "srn", 1, 2, ("h",))) as writer:
        writer.write(tokens, {"l0_h": hidden})
    write_labels(labels, kinds, label_path)
    return states, label_path


def test_counting_summary_and_per_n_table_match_hand_computed_values(tmp_path: Path) -> None:
    # Train: "ab" "aabb"; the last b has no next symbol, so the deterministic rows are the b's at
    # positions 1 (count remaining 0) and 4 (remaining 1). Position 4's prediction is wrong.
    train_states, train_labels = write_counting_split(tmp_path, "train", "ab" + "aabb", wrong={4}, readout_offsets={})
    # Test: n = 1, 2, 3. Deterministic rows (b's but the last): positions 1, 4, 5 (n <= 2) and 9, 10
    # (n = 3); position 10's prediction is wrong. The read-out learnt on train is remaining =
    # 2 * h1 - 0.2, so an offset of +0.05 at position 4 predicts 1.1 and +0.3 at 9 predicts 2.6.
    test_states, test_labels = write_counting_split(
        tmp_path, "test", "ab" + "aabb" + "aaabbb", wrong={10}, readout_offsets={4: 0.05, 9: 0.3}
    )
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"epochs": 7, "splits": {"test": {"loss_nats": 0.25}}}))
    summary_json, per_n_csv = tmp_path / "summary.json", tmp_path / "per_n.csv"

    summary = counting_summary(
        train_states, train_labels, test_states, test_labels, metrics, "anbn", 2, 0.99, summary_json, per_n_csv
    )

    assert summary["train_error"] == pytest.approx(0.5)  # 1 of the 2 deterministic train rows
    assert summary["det_accuracy"] == pytest.approx(1.0)  # positions 1, 4, 5: all right
    # Inside n <= 2 the truths are [0, 1, 0] and the read-out gives [0, 1.1, 0]:
    # R² = 1 - 0.01 / (2/3).
    assert summary["count_r2"] == pytest.approx(1 - 0.01 / (2 / 3), abs=1e-5)
    assert summary["count_r2_per_symbol"] == pytest.approx(1 - 0.01 / (2 / 3), abs=1e-5)  # only b's are deterministic
    assert summary["max_n_counted"] == 2  # n = 3 has accuracy 0.5 < 0.99
    assert (summary["epochs"], summary["test_loss_nats"], summary["hidden"]) == (7, 0.25, 2)
    assert json.loads(summary_json.read_text()) == summary

    per_n = pd.read_csv(per_n_csv)
    assert per_n["n"].tolist() == [1, 2, 3]
    assert per_n["det_positions"].tolist() == [1, 2, 2]
    assert per_n["det_accuracy"].tolist() == pytest.approx([1.0, 1.0, 0.5])
    # n = 2: errors 0.1 and 0; n = 3: 0.6 (2.6 for 2) and 0, and 2.6 rounds to 3, not 2.
    assert per_n["count_mae"].tolist() == pytest.approx([0.0, 0.05, 0.3], abs=1e-6)  # states are float32
    assert per_n["count_rounded_accuracy"].tolist() == pytest.approx([1.0, 1.0, 0.5])

    table = counting_table([summary_json], tmp_path / "srn_counting.csv")
    assert table.columns[:6].tolist() == ["task", "hidden", "epochs", "train_error", "det_accuracy", "count_r2"]


def test_counting_summary_rejects_labels_that_do_not_cover_the_states(tmp_path: Path) -> None:
    train_states, train_labels = write_counting_split(tmp_path, "train", "ab" + "aabb", wrong=set(), readout_offsets={})
    _, short_labels = write_counting_split(tmp_path, "short", "ab", wrong=set(), readout_offsets={})
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"epochs": 1, "splits": {"test": {"loss_nats": 0.0}}}))
    with pytest.raises(ValueError, match="rerun the label rule"):
        counting_summary(
            train_states,
            short_labels,
            train_states,
            train_labels,
            metrics,
            "anbn",
            2,
            0.99,
            tmp_path / "s.json",
            tmp_path / "p.csv",
        )


def test_activation_space_annotates_each_symbol_and_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "ab" "aabb" "aaabbb" with n <= 2 kept: a's are annotated with the count seen (1, 2), b's with
    # the count still to come (0, 1).
    states, labels = write_counting_split(tmp_path, "test", "ab" + "aabb" + "aaabbb", wrong=set(), readout_offsets={})
    figures = []
    monkeypatch.setattr("rnnscope.counting.plt.close", figures.append)
    png = tmp_path / "space.png"
    plot_activation_space(states, labels, 2, png)
    assert png.is_file() and png.with_suffix(".svg").is_file()
    (axes,) = figures[0].axes
    assert sorted(text.get_text() for text in axes.texts) == ["a1", "a2", "b0", "b1"]
    monkeypatch.undo()
    plt.close(figures[0])
