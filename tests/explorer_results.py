"""A small but real results folder for the explorer's tests: three tiny models (a character LSTM
and GRU, a word LSTM) run over a text by the package's own functions, through responses,
co-clustering, glyphs, detail POS table and a comparison, plus a probe table and a neuron heatmap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnscope.coclustering import run_coclustering
from rnnscope.extract import chunk_states, layer_modules, resolve_kinds
from rnnscope.glyphs import run_glyphs
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.responses import write_responses
from rnnscope.rnnvis import run_comparison
from rnnscope.states import StatesInfo, StatesWriter
from rnnscope.train import TrainSettings, save_checkpoint

TEXT = "the cat sat on the mat. she sat on the hat; he ate the red bean and the cat ate a hat.\n" * 6
CHARS = sorted(set(TEXT))
WORDS = ["<unk>", "the", "cat", "sat", "on", "mat.", "she", "hat;", "he", "ate", "red", "bean", "and", "a", "hat."]
SENTENCES = {"char": ["the cat sat", "she ate"], "word": ["the cat sat on the mat.", "she ate a red hat."]}
MODELS = {"char_lstm": ("lstm", "chars"), "char_gru": ("gru", "chars"), "word_lstm": ("lstm", "words")}
COLUMNS = ["l0_h", "l1_h"]
HIDDEN = 10


def write_model(results: Path, name: str, cell: str, vocab: list[str], seed: int) -> tuple[RNNModel, Path]:
    torch.manual_seed(seed)
    model = RNNModel(
        ModelConfig(cell=cell, vocab_size=len(vocab), hidden=HIDDEN, layers=2, embedding=6, init_range=0.9)
    ).eval()
    checkpoint = results / "train" / name / "model.pt"
    checkpoint.parent.mkdir(parents=True)
    save_checkpoint(checkpoint, model, TrainSettings(epochs=1, batch_size=1, seq_len=4, lr=0.1), step=0, epoch=0)
    return model, checkpoint


def write_states(path: Path, model: RNNModel, tokens: list[str], vocab: list[str]) -> None:
    index = {token: i for i, token in enumerate(vocab)}
    ids = torch.tensor([index[token] for token in tokens])
    kinds = resolve_kinds(model.config.cell, ["h"])
    states, _ = chunk_states(model, layer_modules(model), ids, [None] * model.config.layers, kinds)
    info = StatesInfo("test", model.config.cell, model.config.layers, model.config.hidden, kinds)
    with StatesWriter(path, info) as writer:
        writer.write(
            {
                "position": np.arange(len(tokens), dtype=np.int64),
                "token_id": ids.numpy().astype(np.int32),
                "token": np.array(tokens, dtype=object),
                "next_token_id": np.r_[ids.numpy()[1:], -1].astype(np.int32),
                "logprob_next": np.zeros(len(tokens), np.float32),
                "pred_id": np.zeros(len(tokens), np.int32),
            },
            states,
        )


def make_results(results: Path) -> Path:
    """Write the folder; returns ``results``."""
    vocabularies = {"chars": CHARS, "words": WORDS}
    for dataset, vocab in vocabularies.items():
        (results / "data" / dataset).mkdir(parents=True)
        (results / "data" / dataset / "vocab.json").write_text(json.dumps({"tokens": vocab}))
    for seed, (name, (cell, dataset)) in enumerate(MODELS.items()):
        vocab = vocabularies[dataset]
        model, checkpoint = write_model(results, name, cell, vocab, seed)
        tokens = list(TEXT) if dataset == "chars" else TEXT.split()
        states = results / "states" / name / "train.parquet"
        write_states(states, model, tokens, vocab)
        for column in COLUMNS:
            cluster = results / "cluster" / name / column
            write_responses(
                states,
                column,
                3,
                3,
                cluster / "responses.parquet",
                cluster / "top_tokens.csv",
                bands_parquet=cluster / "bands.parquet",
                band_tokens=["the", "e", " ", "cat"],
                band_samples=20,
            )
            run_coclustering(
                cluster / "responses.parquet",
                n_clusters=3,
                mode="absolute",
                seed=0,
                max_tokens=12,
                words_csv=cluster / "word_clusters.csv",
                units_csv=cluster / "unit_clusters.csv",
                edges_csv=cluster / "edges.csv",
                plot_png=cluster / "cocluster.png",
                title=f"{name} {column}: absolute mode",
            )
            rnnvis = results / "rnnvis" / name / column
            run_glyphs(
                checkpoint,
                results / "data" / dataset / "vocab.json",
                cluster / "unit_clusters.csv",
                column,
                SENTENCES["char" if dataset == "chars" else "word"],
                rnnvis / "glyphs.csv",
                rnnvis / "glyphs.png",
                "glyphs",
            )
            words = pd.read_csv(cluster / "word_clusters.csv", keep_default_na=False, dtype={"token": str})
            counts = pd.read_parquet(cluster / "responses.parquet").set_index("token")["count"]
            pd.DataFrame(
                {
                    "token": words["token"],
                    "count": counts.loc[words["token"]].to_numpy(),
                    "word_cluster": words["cluster"],
                    "pos": [
                        "X"
                        if not t.strip()
                        else "NOUN"
                        if t in ("cat", "c", "a")
                        else "DET"
                        if t in ("the", "t")
                        else "VERB"
                        for t in words["token"]
                    ],
                }
            ).to_csv(rnnvis / "pos.csv", index=False)
    for column in COLUMNS:
        pair = results / "rnnvis" / "compare" / "char_lstm__char_gru" / column
        run_comparison(
            ["char_lstm", "char_gru"],
            column,
            *[
                [results / "cluster" / m / column / f for m in ("char_lstm", "char_gru")]
                for f in ("responses.parquet", "word_clusters.csv", "unit_clusters.csv", "edges.csv")
            ],
            [results / "rnnvis" / m / column / "glyphs.csv" for m in ("char_lstm", "char_gru")],
            pair / "word_cluster_overlap.csv",
            pair / "summary.csv",
            pair / "compare.png",
            words_per_cluster=5,
            link_filter=0.2,
            title="compare",
        )
    rng = np.random.default_rng(0)
    rows = []
    for model in MODELS:
        for states in ("trained", "untrained"):
            for layer in (0, 1):
                for hypothesis, target in (("inside_word", "binary"), ("position", "continuous")):
                    f1 = None if target == "continuous" else float(rng.uniform(0.5, 1))
                    r2 = float(rng.uniform(-0.2, 0.9)) if target == "continuous" else None
                    rows.append(
                        {
                            "model": model,
                            "dataset": MODELS[model][1],
                            "cell": MODELS[model][0],
                            "text": "real",
                            "states": states,
                            "seed": 0,
                            "layer": layer,
                            "kind": "h",
                            "hypothesis": hypothesis,
                            "target_kind": target,
                            "weighting": "plain",
                            "accuracy": f1,
                            "accuracy_ci_low": f1 and f1 - 0.05,
                            "accuracy_ci_high": f1 and min(1, f1 + 0.05),
                            "f1": f1,
                            "f1_ci_low": f1 and f1 - 0.06,
                            "f1_ci_high": f1 and min(1, f1 + 0.04),
                            "r2": r2,
                            "r2_ci_low": r2 and r2 - 0.1,
                            "r2_ci_high": r2 and r2 + 0.1,
                            "majority_accuracy": 0.6 if f1 else None,
                            "control_accuracy": 0.55 if f1 else None,
                            "selectivity": f1 and f1 - 0.55,
                            "top_unit": int(rng.integers(HIDDEN)),
                            "n_test": 500,
                            "converged": True,
                            "status": "ok",
                        }
                    )
    (results / "tables").mkdir()
    pd.DataFrame(rows).to_csv(results / "tables" / "probes.csv", index=False)
    neuron = results / "neurons" / "char_lstm" / "inside_word"
    neuron.mkdir(parents=True)
    text = TEXT[:120]
    neuron_data = {
        "model": "char_lstm",
        "hypothesis": "inside_word",
        "status": "ok",
        "layer": 1,
        "kind": "h",
        "unit": 3,
        "title": "char_lstm: inside_word, plain probe, held-out test split, characters 0-119",
        "unit_title": "layer 1 h, unit 3",
        "start": 0,
        "width": 60,
        "text": text,
        "activation": np.round(np.sin(np.arange(len(text)) / 5), 4).tolist(),
        "labels": [int(c.isalpha()) for c in text],
        "probability": [0.8 if c.isalpha() else 0.2 for c in text],
    }
    (neuron / "heatmap.json").write_text(json.dumps(neuron_data))
    return results
