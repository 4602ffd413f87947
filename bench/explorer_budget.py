"""Explorer budgets (issue 14) at the default run's shapes: size on disk, first view, click redraw.

Writes a results folder holding, in the cluster/rnnvis/tables/neurons file formats, the default
config's 23 co-clustered views (PTB LSTM small/medium/large 64/128/200 units x 2 layers x h,c;
PTB RNN and GRU and Shakespeare GRU 128 units x 2 layers h; Shakespeare LSTM 128 x 2 x h,c; Yelp
GRU 50 units, 200 words), ``--vocab`` tokens with a response per word model, 60 co-clustered
tokens in 4 clusters, 7 band tokens, two 10-word glyph sentences, the two compared pairs, a probe
table of ``--probe-rows`` rows and 8 neuron heatmaps of 400 characters. Values are random: the
sizes and the browser's work follow the shapes, not the values. Then builds the explorer, prints
its size, and runs tests/explorer_browser.check_explorer_site (every browser check, plus the
medians of ``performance.now()`` timings: first view drawn since navigation start over
``--loads`` fresh loads, word click redraw over ``--clicks`` clicks).

    PYTHONPATH=src:tests .venv/bin/python bench/explorer_budget.py [--out /tmp/explorer_budget] [--screenshots docs/explorer]

``--results RUN/results`` checks a finished run's own explorer (``results/explorer``, built by rule
``explorer``) instead: its size, every browser check and the timings, nothing generated.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from rnnscope.explorer import build_explorer

VIEWS = {  # model: (units, layers, kinds, co-clustered tokens, word model)
    "ptb_lstm_small": (64, 2, "hc", 60, True),
    "ptb_lstm_medium": (128, 2, "hc", 60, True),
    "ptb_lstm_large": (200, 2, "hc", 60, True),
    "ptb_rnn": (128, 2, "h", 60, True),
    "ptb_gru": (128, 2, "h", 60, True),
    "shakespeare_lstm": (128, 2, "hc", 60, False),
    "shakespeare_gru": (128, 2, "h", 60, False),
    "yelp_gru": (50, 1, "h", 200, True),
}
PAIRS = [("shakespeare_lstm", "shakespeare_gru"), ("ptb_rnn", "ptb_lstm_medium")]
SENTENCE = ["i", "love", "the", "food", "though", "the", "staff", "is", "not", "helpful"]
CLUSTERS = 4


def write_view(
    results: Path, model: str, column: str, units: int, tokens: int, words: bool, vocab: int, rng: np.random.Generator
) -> None:
    names = [f"w{i}" for i in range(vocab)] if words else [chr(32 + i) for i in range(min(vocab, 90))]
    distinct = list(dict.fromkeys(SENTENCE))  # "the" twice in the sentence: once in the vocabulary
    names[: len(distinct)] = distinct if words else names[: len(distinct)]
    counts = np.sort(rng.integers(20, 50000, len(names)))[::-1]
    folder = results / "cluster" / model / column
    folder.mkdir(parents=True)
    table = pd.DataFrame({"token": names, "token_id": np.arange(len(names), dtype=np.int32), "count": counts})
    response = rng.normal(0, 0.1, (len(names), units))
    table = pd.concat([table, pd.DataFrame(response, columns=[f"u{u}" for u in range(units)])], axis=1)
    table.to_parquet(folder / "responses.parquet")
    shown = names[: min(tokens, len(names))]
    pd.DataFrame({"token": shown, "cluster": rng.integers(0, CLUSTERS, len(shown))}).to_csv(
        folder / "word_clusters.csv", index=False
    )
    pd.DataFrame({"unit": range(units), "cluster": rng.integers(0, CLUSTERS, units)}).to_csv(
        folder / "unit_clusters.csv", index=False
    )
    pd.DataFrame(
        {
            "word_cluster": np.repeat(range(CLUSTERS), CLUSTERS),
            "unit_cluster": np.tile(range(CLUSTERS), CLUSTERS),
            "strength": rng.normal(0, 0.05, CLUSTERS**2),
            "words": 15,
            "units": units // CLUSTERS,
        }
    ).to_csv(folder / "edges.csv", index=False)
    top = [
        {"unit": u, "rank": r, "sign": s, "token": names[r], "response": 0.1}
        for u in range(units)
        for s in ("positive", "negative")
        for r in range(1, 11)
    ]
    pd.DataFrame(top).to_csv(folder / "top_tokens.csv", index=False)
    bands = []
    for token in names[:7]:
        p = np.sort(rng.normal(0, 0.1, (5, units)), axis=0)
        bands.append(
            pd.DataFrame(
                {
                    "token": token,
                    "unit": range(units),
                    "count": 1000,
                    "samples": 1000,
                    "response": p[2],
                    "p9": p[0],
                    "p25": p[1],
                    "p50": p[2],
                    "p75": p[3],
                    "p91": p[4],
                }
            )
        )
    pd.concat(bands).to_parquet(folder / "bands.parquet")
    rnnvis = results / "rnnvis" / model / column
    rnnvis.mkdir(parents=True)
    pd.DataFrame({"token": shown, "count": counts[: len(shown)], "word_cluster": 0, "pos": "NOUN"}).to_csv(
        rnnvis / "pos.csv", index=False
    )
    rows = []
    for index, sentence in enumerate([SENTENCE, SENTENCE[::-1]]):
        tokens_read = sentence if words else list(" ".join(sentence))
        for step, token in enumerate(tokens_read):
            for cluster in range(CLUSTERS):
                a, b = rng.uniform(0, 5), -rng.uniform(0, 5)
                rows.append(
                    {
                        "sentence_index": index,
                        "sentence": " ".join(sentence),
                        "token": token,
                        "step": step,
                        "cluster": cluster,
                        "size": units // CLUSTERS,
                        "alpha_pos": a,
                        "alpha_neg": b,
                        "delta_alpha_pos": rng.normal(),
                        "delta_alpha_neg": rng.normal(),
                        "updated": 1.0,
                        "beta": 1.0,
                        "preserved": rng.uniform(),
                    }
                )
    pd.DataFrame(rows).to_csv(rnnvis / "glyphs.csv", index=False)


def make_default_sized(results: Path, vocab: int, probe_rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for model, (units, layers, kinds, tokens, words) in VIEWS.items():
        for layer in range(layers):
            for kind in kinds:
                write_view(
                    results,
                    model,
                    f"l{layer}_{kind}",
                    units,
                    tokens,
                    words,
                    vocab if model.startswith("ptb") else 3000,
                    rng,
                )
    for a, b in PAIRS:
        for layer in range(2):
            folder = results / "rnnvis" / "compare" / f"{a}__{b}" / f"l{layer}_h"
            folder.mkdir(parents=True)
            pd.DataFrame(
                [
                    {
                        "model_a": a,
                        "model_b": b,
                        "column": f"l{layer}_h",
                        "common_tokens": 60,
                        "tokens_a": 60,
                        "tokens_b": 60,
                        "adjusted_rand": 0.1,
                        "adjusted_mutual_info": 0.12,
                    }
                ]
            ).to_csv(folder / "summary.csv", index=False)
            pd.DataFrame(
                [
                    {"word_cluster_a": i, "word_cluster_b": j, "tokens": 4, "examples": "a b c"}
                    for i in range(CLUSTERS)
                    for j in range(CLUSTERS)
                ]
            ).to_csv(folder / "word_cluster_overlap.csv", index=False)
    (results / "tables").mkdir()
    score = rng.uniform(0.4, 1, probe_rows)
    pd.DataFrame(
        {
            "model": rng.choice(
                ["shakespeare_lstm", "shakespeare_gru", "linux_lstm", "linux_gru", "shakespeare_gru_s1"], probe_rows
            ),
            "dataset": "tinyshakespeare",
            "cell": "lstm",
            "text": rng.choice(["real", "generated"], probe_rows),
            "states": rng.choice(["trained", "untrained"], probe_rows),
            "seed": 0,
            "layer": rng.integers(0, 3, probe_rows),
            "kind": rng.choice(["h", "c"], probe_rows),
            "hypothesis": rng.choice([f"hypothesis_{i}" for i in range(20)], probe_rows),
            "target_kind": "binary",
            "weighting": rng.choice(["plain", "balanced"], probe_rows),
            "accuracy": score,
            "accuracy_ci_low": score - 0.02,
            "accuracy_ci_high": score + 0.02,
            "f1": score,
            "f1_ci_low": score - 0.03,
            "f1_ci_high": score + 0.03,
            "r2": np.nan,
            "r2_ci_low": np.nan,
            "r2_ci_high": np.nan,
            "majority_accuracy": 0.6,
            "control_accuracy": 0.55,
            "selectivity": score - 0.55,
            "top_unit": rng.integers(0, 128, probe_rows),
            "n_test": 20000,
            "converged": True,
            "status": "ok",
        }
    ).to_csv(results / "tables" / "probes.csv", index=False)
    text = ("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 10)[:400]
    for model in ("shakespeare_lstm", "shakespeare_gru", "linux_lstm", "linux_gru"):
        for hypothesis in ("capitalized_word", "next_is_newline"):
            folder = results / "neurons" / model / hypothesis
            folder.mkdir(parents=True)
            folder.joinpath("heatmap.json").write_text(
                json.dumps(
                    {
                        "model": model,
                        "hypothesis": hypothesis,
                        "status": "ok",
                        "layer": 1,
                        "kind": "h",
                        "unit": 3,
                        "title": f"{model}: {hypothesis}",
                        "unit_title": "layer 1 h, unit 3",
                        "start": 0,
                        "width": 80,
                        "text": text,
                        "activation": np.round(rng.normal(size=len(text)), 4).tolist(),
                        "labels": rng.integers(0, 2, len(text)).tolist(),
                        "probability": np.round(rng.uniform(size=len(text)), 3).tolist(),
                    }
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="/tmp/explorer_budget")
    parser.add_argument(
        "--vocab", type=int, default=3000, help="tokens with a response per PTB view (seen >= min_count times)"
    )
    parser.add_argument("--probe-rows", type=int, default=3000)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--screenshots", help="folder for a PNG of each view")
    parser.add_argument("--results", help="a finished run's results folder: check its explorer, generate nothing")
    arguments = parser.parse_args()
    if arguments.results:
        results = Path(arguments.results)
        site = sorted((results / "explorer").rglob("*"))
        print(f"{results / 'explorer'}: {sum(p.stat().st_size for p in site if p.is_file()) / 1e6:.2f} MB on disk")
    else:
        results = generate_and_build(Path(arguments.out), arguments.vocab, arguments.probe_rows)
    from explorer_browser import check_explorer_site

    timings = check_explorer_site(
        results / "explorer",
        results,
        Path(arguments.screenshots) if arguments.screenshots else None,
        loads=arguments.loads,
        clicks=arguments.clicks,
    )
    print(json.dumps(timings, indent=1))


def generate_and_build(out: Path, vocab: int, probe_rows: int) -> Path:
    """The default-sized random results folder under ``out``, with its explorer built and measured."""
    shutil.rmtree(out, ignore_errors=True)
    results = out / "results"
    results.mkdir(parents=True)
    make_default_sized(results, vocab, probe_rows)
    started = time.perf_counter()
    summary = build_explorer(results, results / "explorer")
    seconds = time.perf_counter() - started
    files = sorted((results / "explorer").rglob("*"), key=lambda p: -p.stat().st_size)
    print(f"built {len(summary['views'])} views in {seconds:.1f} s: {summary['bytes'] / 1e6:.2f} MB on disk")
    for path in files[:5]:
        print(f"  {path.relative_to(results / 'explorer')}: {path.stat().st_size / 1e3:.0f} KB")
    return results


if __name__ == "__main__":
    main()
