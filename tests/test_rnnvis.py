from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import write_states
from rnnscope.coclustering import run_coclustering
from rnnscope.glyphs import glyph_quantities
from rnnscope.responses import write_responses
from rnnscope.rnnvis import (
    pos_tags,
    run_comparison,
    run_detail_view,
    run_main_view,
    word_cluster_overlap,
)

WORDS = ["the", "he", "she", "food", "love", "a", "staff", "is", "not", "though"]


def clustered_model(tmp_path: Path, seed: int) -> dict[str, Path]:
    """States of a made-up 12-unit model over WORDS, responses with bands, and its co-clusters."""
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(0, len(WORDS), 400)
    states = rng.uniform(-1, 1, (400, 12)).astype(np.float32)
    folder = tmp_path / f"model{seed}"
    folder.mkdir()
    write_states(folder / "states.parquet", token_ids, states, row_group_size=64)
    paths = {
        name: folder / name
        for name in (
            "responses.parquet",
            "top.csv",
            "bands.parquet",
            "words.csv",
            "units.csv",
            "edges.csv",
            "cocluster.png",
        )
    }
    write_responses(
        folder / "states.parquet",
        "l0_h",
        5,
        3,
        paths["responses.parquet"],
        paths["top.csv"],
        bands_parquet=paths["bands.parquet"],
        band_tokens=["w0", "w3", "w99"],
        band_samples=20,
    )
    run_coclustering(
        paths["responses.parquet"],
        n_clusters=3,
        mode="absolute",
        seed=0,
        max_tokens=10,
        words_csv=paths["words.csv"],
        units_csv=paths["units.csv"],
        edges_csv=paths["edges.csv"],
        plot_png=paths["cocluster.png"],
        title="t",
    )
    return paths


def test_main_view_figure(tmp_path: Path) -> None:
    paths = clustered_model(tmp_path, 0)
    out = tmp_path / "main.png"
    run_main_view(
        paths["responses.parquet"], paths["words.csv"], paths["units.csv"], paths["edges.csv"], out, 5, 0.2, "main"
    )
    assert out.stat().st_size > 10_000 and out.with_suffix(".svg").exists()


def test_word_cluster_overlap_counts_and_scores() -> None:
    words_a = pd.DataFrame({"token": list("abcdef"), "cluster": [0, 0, 1, 1, 2, 2]})
    # the same partition under other labels, plus a token only b has
    words_b = pd.DataFrame({"token": list("abcdefg"), "cluster": [1, 1, 0, 0, 2, 2, 0]})
    long, scores = word_cluster_overlap(words_a, words_b)
    assert scores["common_tokens"] == 6 and scores["tokens_b"] == 7
    assert scores["adjusted_rand"] == pytest.approx(1.0) and scores["adjusted_mutual_info"] == pytest.approx(1.0)
    counts = long.set_index(["word_cluster_a", "word_cluster_b"])["tokens"]
    assert counts[(0, 1)] == 2 and counts[(1, 0)] == 2 and counts[(2, 2)] == 2 and counts.sum() == 6
    assert long.set_index(["word_cluster_a", "word_cluster_b"]).loc[(1, 0), "examples"] == "c d"
    # one token moved: agreement drops below 1
    moved = words_b.assign(cluster=[1, 1, 0, 2, 2, 2, 0])
    assert word_cluster_overlap(words_a, moved)[1]["adjusted_rand"] < 1.0
    with pytest.raises(ValueError, match="share no token"):
        word_cluster_overlap(words_a, pd.DataFrame({"token": ["z"], "cluster": [0]}))


def test_missing_tagger_data_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nltk

    monkeypatch.setattr(nltk.data, "path", [])
    with pytest.raises(LookupError, match="not found in .*rule download_tagger_data into resources/nltk_data"):
        pos_tags(["he"], str(tmp_path))


def test_pos_tags_universal(tagger_data: Path) -> None:
    assert pos_tags(["he", "the", " ", "<unk>", "love", ","], tagger_data) == ["PRON", "DET", "X", "X", "NOUN", "."]


def test_detail_view(tmp_path: Path, tagger_data: Path) -> None:
    paths = clustered_model(tmp_path, 0)
    out = tmp_path / "detail"
    run_detail_view(
        paths["responses.parquet"],
        paths["words.csv"],
        paths["units.csv"],
        paths["bands.parquet"],
        out / "pos.csv",
        out / "detail.png",
        ["w3", "w0", "w99"],
        tagger_data,
        "detail",
    )
    pos = pd.read_csv(out / "pos.csv")
    assert pos.columns.tolist() == ["token", "count", "word_cluster", "pos"] and len(pos) == 10
    assert (out / "detail.png").stat().st_size > 10_000


def test_comparison(tmp_path: Path) -> None:
    models = [clustered_model(tmp_path, seed) for seed in (0, 1)]
    glyphs = []
    for index, paths in enumerate(models):
        labels = pd.read_csv(paths["units.csv"])["cluster"].to_numpy()
        table = glyph_quantities(np.random.default_rng(index).uniform(-1, 1, (4, 12)), labels, 3)
        table.insert(0, "token", np.array(list("abcd"))[table["step"]])
        table.insert(0, "sentence", "abcd")
        table.insert(0, "sentence_index", 0)
        glyphs.append(tmp_path / f"glyphs{index}.csv")
        table.to_csv(glyphs[-1], index=False)
    out = tmp_path / "compare"
    run_comparison(
        ["a", "b"],
        "l0_h",
        [m["responses.parquet"] for m in models],
        [m["words.csv"] for m in models],
        [m["units.csv"] for m in models],
        [m["edges.csv"] for m in models],
        glyphs,
        out / "overlap.csv",
        out / "summary.csv",
        out / "compare.png",
        5,
        0.0,
        "compare",
    )
    summary = pd.read_csv(out / "summary.csv")
    assert summary["common_tokens"].item() == 10 and -1 <= summary["adjusted_rand"].item() <= 1
    assert pd.read_csv(out / "overlap.csv")["tokens"].sum() == 10
    assert (out / "compare.png").stat().st_size > 20_000


def test_detail_view_without_pos_tags(tmp_path: Path) -> None:
    paths = clustered_model(tmp_path, 0)
    out = tmp_path / "detail"
    run_detail_view(
        paths["responses.parquet"],
        paths["words.csv"],
        paths["units.csv"],
        paths["bands.parquet"],
        out / "pos.csv",
        out / "detail.png",
        ["w0"],
        None,
        "detail",
        tag_pos=False,
    )
    assert pd.read_csv(out / "pos.csv")["pos"].isna().all()
    with pytest.raises(ValueError, match="nothing to draw"):
        run_detail_view(
            paths["responses.parquet"],
            paths["words.csv"],
            paths["units.csv"],
            paths["bands.parquet"],
            out / "pos.csv",
            out / "detail.png",
            ["w99"],
            None,
            "detail",
            tag_pos=False,
        )
