"""Probes on generated text, and their comparison with probes on real text.

The generated probe-train and probe-test samples come from :mod:`rnnscope.generate`; their
states come from the same extraction as real splits (each sample from a zero state), their labels
from the same hypotheses (each sample labelled on its own), and the probes from the same
:func:`rnnscope.probes.fit_probes`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from rnnscope.artifacts import write_atomically, write_table
from rnnscope.probes import ProbeSettings, fit_probes


def probe_generated_text(
    train_states: str | Path,
    test_states: str | Path,
    train_labels: str | Path,
    test_labels: str | Path,
    settings: ProbeSettings,
    metrics_csv: str | Path,
    weights_npz: str | Path,
    model: str = "",
) -> pd.DataFrame:
    """The same probes as on real text, fitted on generated probe-train and scored on probe-test.

    ``settings.warmup_tokens`` is not applied: it skips the transient after a real split's one
    artificial zero state, while every generated sample starts from the zero state it was sampled
    from, in both splits (seed 003 skips nothing; see :mod:`rnnscope.generate`). Writes ``metrics_csv`` with the columns of the real-text metrics plus ``text`` =
    ``"generated"`` (second column) and the weights npz; returns the table.
    """
    with tempfile.TemporaryDirectory() as folder:
        table = fit_probes(
            train_states,
            test_states,
            train_labels,
            test_labels,
            replace(settings, warmup_tokens=0),
            Path(folder) / "metrics.csv",
            weights_npz,
            model=model,
        )
    table.insert(1, "text", "generated")
    write_atomically(metrics_csv, lambda partial: table.to_csv(partial, index=False))
    return table


PROBE_KEYS = ["model", "layer", "kind", "hypothesis", "target_kind", "weighting"]


def real_vs_generated_table(
    real_metrics: Sequence[str | Path], generated_metrics: Sequence[str | Path], csv_path: str | Path
) -> pd.DataFrame:
    """results/tables/probes_generated.csv: each probe's held-out score on real and on generated text.

    ``score`` is F1 for classifiers and R² for regressions; ``majority_accuracy`` is given for
    both texts because the class balance of generated text differs from real text.
    """
    columns = [*PROBE_KEYS, "f1", "r2", "accuracy", "majority_accuracy", "n_train", "n_test", "converged", "status"]
    real = pd.concat([pd.read_csv(path) for path in real_metrics], ignore_index=True)[columns]
    generated = pd.concat([pd.read_csv(path) for path in generated_metrics], ignore_index=True)[columns]
    table = real.merge(generated, on=PROBE_KEYS, how="outer", suffixes=("_real", "_generated"))
    texts = ("real", "generated")
    for text in texts:
        table[f"score_{text}"] = table[f"f1_{text}"].fillna(table[f"r2_{text}"])
    per_text = ["score", "accuracy", "majority_accuracy", "n_train", "n_test", "converged", "status"]
    table = table[[*PROBE_KEYS, *[f"{column}_{text}" for column in per_text for text in texts]]]
    write_table(
        table,
        csv_path,
        "Diagnostic classifiers on real vs generated text: score = held-out F1 (classifiers) or R² "
        "(regressions). Real: fitted on the train split, scored on the test split. Generated: "
        "fitted on the probe-train samples, scored on the probe-test samples (independent samples, "
        "each from a zero state after the primer, split by sample; config generate: sequences, "
        "length, temperature, seed, test_fraction). Source: "
        "results/probes/<model>/metrics.csv and generated_metrics.csv.",
    )
    return table
