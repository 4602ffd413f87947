"""Where the Tiny Shakespeare models miss seed 003's capitalized-word score (not part of bench/run.py).

Seed 003 reports F1 0.98 (LSTM) / 0.99 (GRU) for "characters within capitalized words" on
generated text and does not say which state it probed. Our probes of any single layer and state
kind reach 0.79-0.87. This reads a finished run's generated-text states and labels (rule
generate_probes' inputs, the seed's 95/5 protocol) and, per state set (each layer and kind
alone, every layer's h, every layer's h and c concatenated), fits the plain probe (standardized
lbfgs logistic regression, C 1, every train row) and splits its test recall into the
capitalized words' uppercase letters (readable from the current input) and their lowercase
letters (the model must remember how the word began).

    PYTHONPATH=src .venv/bin/python bench/capitalized_word.py RESULTS [--models shakespeare_lstm shakespeare_gru] [--out FILE.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tabulate import tabulate

from rnnscope.probes import bootstrap_intervals
from rnnscope.states import parse_state_column, read_info, read_matrices, read_table

HYPOTHESIS = "capitalized_word"


def labelled(results: Path, model: str, split: str) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """State matrices, labels and is-uppercase of the generated split's labelled rows."""
    folder = results / "generated" / model
    states_path = folder / f"states_{split}.parquet"
    labels = read_table(folder / f"labels_{split}.parquet", ["position", HYPOTHESIS]).to_pandas()
    tokens = read_table(states_path, ["position", "token"]).to_pandas()
    if not np.array_equal(tokens["position"].to_numpy(), labels["position"].to_numpy()):
        raise ValueError(f"{states_path} and its labels file hold different positions")
    kept = labels[HYPOTHESIS].notna().to_numpy()
    matrices = {
        name: values[kept] for name, values in read_matrices(states_path, read_info(states_path).columns).items()
    }
    upper = np.array([token.isupper() for token in tokens["token"]])[kept]
    return matrices, labels[HYPOTHESIS].to_numpy(dtype=bool)[kept], upper


def state_sets(columns: list[str]) -> dict[str, list[str]]:
    """Each state column alone, every layer's h together, and every column together."""
    sets = {column: [column] for column in columns}
    sets["every layer's h"] = [column for column in columns if parse_state_column(column)[1] == "h"]
    if len(columns) > len(sets["every layer's h"]):
        sets["every layer's h and c"] = columns
    return sets


def breakdown(results: Path, model: str, bootstrap: int) -> pd.DataFrame:
    train, y_train, _ = labelled(results, model, "train")
    test, y_test, upper = labelled(results, model, "test")
    uppercase_letters, lowercase_letters = y_test & upper, y_test & ~upper
    rows = []
    for name, columns in state_sets(list(train)).items():
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        probe.fit(np.hstack([train[c] for c in columns]), y_train)
        predicted = probe.predict(np.hstack([test[c] for c in columns]))
        interval = bootstrap_intervals(y_test, predicted, "binary", bootstrap, np.random.default_rng(0))
        rows.append(
            {
                "model": model,
                "states": name,
                "f1": f1_score(y_test, predicted),
                "f1_ci_low": interval["f1_ci_low"],
                "f1_ci_high": interval["f1_ci_high"],
                "recall_uppercase_letters": predicted[uppercase_letters].mean(),
                "recall_lowercase_letters": predicted[lowercase_letters].mean(),
                "false_positive_rate": predicted[~y_test].mean(),
                "n_uppercase_letters": int(uppercase_letters.sum()),
                "n_lowercase_letters": int(lowercase_letters.sum()),
                "n_train": len(y_train),
                "n_test": len(y_test),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a finished run's results folder")
    parser.add_argument("--models", nargs="+", default=["shakespeare_lstm", "shakespeare_gru"])
    parser.add_argument("--bootstrap", type=int, default=1000, help="test-row resamples for the F1 interval")
    parser.add_argument("--out", type=Path, help="also write the table as CSV")
    args = parser.parse_args()
    table = pd.concat([breakdown(args.results, model, args.bootstrap) for model in args.models], ignore_index=True)
    print(tabulate(table, headers="keys", tablefmt="github", floatfmt=".3f", showindex=False))
    if args.out:
        table.to_csv(args.out, index=False, float_format="%.4f")


if __name__ == "__main__":
    main()
