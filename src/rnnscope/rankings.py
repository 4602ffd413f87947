"""Unit rankings judged by ablation: which ordering of a layer's units finds the units the
model uses for a hypothesis?

Three rankings of the units of each layer (and state kind), all computed on the states of the
train split's first ``rankings.fit_tokens`` characters:

- ``probe_weight``: largest |w| of a logistic probe (seed 003's most responsible neuron);
- ``elastic_net``: largest |w| of an elastic-net logistic regression (L1 + L2) on standardised
  states, the weight-mass ordering of NeuroX (Dalvi et al. 2019), which for one binary probe is
  |w| descending; units the L1 term zeroes follow in index order;
- ``mean_difference``: largest |mean(x | true) - mean(x | false)|, probe-free (Antverg &
  Belinkov 2022).

Each ranking's top k units, for k in a sweep, and k random units outside the probe's top k (the
control) are silenced at every step (:func:`rnnscope.neurons.ablation_rows`) over the held-out
test split's first characters; the probe's F1 and the next-character loss on the hypothesis's
characters show which ranking picked units the model uses (Antverg & Belinkov's point: a
ranking is judged by intervention, not by the probe that made it).

The probe is fitted here, with ``rankings.C`` and ``rankings.weighting``, rather than read from
the probe stage, so that changing a probe parameter does not rerun these ablations.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from rnnscope.artifacts import write_atomically, write_table
from rnnscope.figures import save_figure
from rnnscope.models import RNNModel, load_model
from rnnscope.neurons import (
    ABLATION_COLUMNS,
    PROBE_WEIGHT,
    RANDOM,
    AblationSweep,
    Probe,
    ablation_rows,
    fit_and_test_characters,
    run_states,
)
from rnnscope.probes import fit_probe, intervention_probe_settings
from rnnscope.schema import check_settings
from rnnscope.states import state_column

log = logging.getLogger(__name__)

RANKINGS = (PROBE_WEIGHT, "elastic_net", "mean_difference")
# saga on standardised states; a fit still short of its tolerance is logged, its order kept.
ELASTIC_NET_MAX_ITER = 1000
# The probe stage's F1 has no counterpart here: the probe is this stage's own.
RANKING_COLUMNS = [column for column in ABLATION_COLUMNS if column != "f1_probe_table"]


@dataclass(frozen=True)
class ElasticNetSettings:
    """The elastic-net ranking's penalty (config ``rankings.elastic_net``): scikit-learn's
    ``l1_ratio`` (1 = L1 only) and ``C`` (inverse strength, on standardised states)."""

    l1_ratio: float = 0.5
    C: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "l1_ratio", float(self.l1_ratio))
        object.__setattr__(self, "C", float(self.C))
        check_settings("rankings.elastic_net", self)


@dataclass(frozen=True)
class RankingSettings:
    """Which rankings are judged, over which k, on how much text (config ``rankings``)."""

    enabled: bool
    methods: tuple[str, ...]
    kinds: tuple[str, ...]
    weighting: str
    C: float
    k: tuple[int, ...]
    random_repeats: int
    seed: int
    fit_tokens: int
    max_tokens: int
    elastic_net: ElasticNetSettings = field(default_factory=ElasticNetSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", tuple(dict.fromkeys(self.methods)))  # config order, once each
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "k", tuple(sorted(set(self.k))))
        if isinstance(self.elastic_net, dict):
            object.__setattr__(self, "elastic_net", ElasticNetSettings(**self.elastic_net))
        check_settings("rankings", self)

    @property
    def sweep(self) -> AblationSweep:
        return AblationSweep(self.methods, self.k, self.random_repeats, self.seed)


def mean_difference_order(states: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every unit, largest |mean(x | true) - mean(x | false)| first (ties: lower index first):
    Antverg & Belinkov (2022)'s probeless ranking. ``labels`` must hold both classes."""
    if labels.all() or not labels.any():
        raise ValueError("the mean-difference ranking needs characters of both classes")
    states = np.asarray(states, dtype=np.float64)
    difference = states[labels].mean(axis=0) - states[~labels].mean(axis=0)
    return np.argsort(-np.abs(difference), kind="stable")


def elastic_net_order(
    states: np.ndarray, labels: np.ndarray, settings: ElasticNetSettings, balanced: bool, seed: int
) -> np.ndarray:
    """Every unit, largest |w| first (ties, such as the units the L1 term zeroes: lower index
    first), of an elastic-net logistic regression of ``labels`` on the standardised ``states``
    (class-balanced with ``balanced``): NeuroX's weight-mass ordering for a binary probe."""
    states = np.asarray(states, dtype=np.float64)
    scale = states.std(axis=0)
    scale[scale == 0] = 1.0  # a constant unit stays 0 after centring
    standardised = (states - states.mean(axis=0)) / scale
    # l1_ratio in (0, 1) with saga is the elastic net; scikit-learn 1.8 deprecated `penalty` for it.
    classifier = LogisticRegression(
        solver="saga",
        l1_ratio=settings.l1_ratio,
        C=settings.C,
        class_weight="balanced" if balanced else None,
        max_iter=ELASTIC_NET_MAX_ITER,
        random_state=seed,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(standardised, labels)
    for warning in caught:
        log.warning("elastic-net ranking: %s", warning.message)
    weights = classifier.coef_[0]
    log.info("elastic-net ranking: %d of %d units with w != 0", np.count_nonzero(weights), len(weights))
    return np.argsort(-np.abs(weights), kind="stable")


def ranked_probes(
    model: RNNModel,
    fit_ids: np.ndarray,
    fit_labels: np.ndarray,
    settings: RankingSettings,
    warmup_tokens: int = 0,
) -> tuple[dict[tuple[int, str], Probe], dict[tuple[int, str], dict[str, np.ndarray]]]:
    """A probe of every layer and kind of ``settings.kinds`` the cell has, and each configured
    ranking's order of its units (most important first), all fitted on the states of
    ``fit_ids`` from ``warmup_tokens`` on. ``fit_labels`` must hold both classes there."""
    kinds = [kind for kind in settings.kinds if kind == "h" or model.config.cell == "lstm"]
    states, _ = run_states(model, fit_ids, kinds)
    labels = fit_labels[warmup_tokens:]
    probe_settings = intervention_probe_settings(settings.C, settings.weighting, settings.seed, warmup_tokens)
    probes: dict[tuple[int, str], Probe] = {}
    orders: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for layer in range(model.config.layers):
        for kind in kinds:
            x = states[state_column(layer, kind)][warmup_tokens:]
            # Scored on its own rows: only the weights are used; the ablations score it on test text.
            fit = fit_probe(x, labels, x, labels, "binary", settings.weighting, probe_settings)
            probe = probes[(layer, kind)] = Probe.of_fit(fit)
            orders[(layer, kind)] = {PROBE_WEIGHT: probe.unit_order()}
            if "mean_difference" in settings.methods:
                orders[(layer, kind)]["mean_difference"] = mean_difference_order(x, labels)
            if "elastic_net" in settings.methods:
                orders[(layer, kind)]["elastic_net"] = elastic_net_order(
                    x, labels, settings.elastic_net, settings.weighting == "balanced", settings.seed
                )
    return probes, orders


def analyse_rankings(
    checkpoint: str | Path,
    vocab_path: str | Path,
    fit_text_path: str | Path,
    fit_labels_path: str | Path,
    test_text_path: str | Path,
    test_labels_path: str | Path,
    hypothesis: str,
    settings: RankingSettings,
    rankings_csv: str | Path,
    png_path: str | Path,
    model_name: str,
    threads: int = 1,
    warmup_tokens: int = 0,
) -> pd.DataFrame:
    """Rank the units of every layer for ``hypothesis`` on the train split's first
    ``fit_tokens`` characters and ablate each ranking's top k (and k random units) on the test
    split's first ``max_tokens``. Writes the ablation rows to ``rankings_csv`` and their plot
    against k to ``png_path``."""
    torch.set_num_threads(threads)
    model, _ = load_model(checkpoint)
    fit_ids, fit_labels, test_ids, test_labels = fit_and_test_characters(
        vocab_path,
        (fit_text_path, fit_labels_path, settings.fit_tokens),
        (test_text_path, test_labels_path, settings.max_tokens),
        hypothesis,
        "rankings",
        warmup_tokens,
    )
    base: dict[str, object] = {
        "model": model_name,
        "hypothesis": hypothesis,
        "weighting": settings.weighting,
        "n_chars": len(test_ids) - warmup_tokens,
        "streams": 1,
        "n_true": int(test_labels[warmup_tokens:].sum()),
    }
    title = f"{model_name}: {hypothesis}, unit rankings judged by ablation (test split)"
    fitted = fit_labels[warmup_tokens:]
    if fitted.all() or not fitted.any():
        reason = (
            f"skipped: the first {len(fit_ids)} train characters (rankings.fit_tokens) after "
            f"probe.warmup_tokens are all {bool(fitted[0])}"
        )
        log.warning("%s: %s", hypothesis, reason)
        rows = [base | {"ranking": method, "status": reason} for method in settings.methods]
    else:
        probes, orders = ranked_probes(model, fit_ids, fit_labels, settings, warmup_tokens)
        rows = ablation_rows(model, test_ids, test_labels, probes, orders, settings.sweep, base, warmup_tokens)
    table = pd.DataFrame(rows, columns=RANKING_COLUMNS)
    plot_rankings(table, title, png_path)
    write_atomically(rankings_csv, lambda partial: table.to_csv(partial, index=False))
    return table


def plot_rankings(table: pd.DataFrame, title: str, png_path: str | Path) -> None:
    """One row of panels per probe (layer and kind): the probe's F1 and the loss on characters
    where the hypothesis holds, after silencing each ranking's top k units, against k; k random
    units as the mean over the draws with their min-max band; the value before ablation dashed."""
    ok = table[table["status"] == "ok"]
    if ok.empty:
        figure, message = plt.subplots(figsize=(6, 1.2))
        message.axis("off")
        reasons = "; ".join(sorted(set(table["status"])))
        message.text(0.0, 0.5, f"{title}\nno ablation: {reasons}", va="center", fontsize=9)
        save_figure(figure, png_path, svg=False)
        return
    probes = sorted(set(zip(ok["layer"], ok["kind"], strict=True)))
    colours = {ranking: plt.get_cmap("tab10")(index) for index, ranking in enumerate(RANKINGS)}
    metrics = [("f1", "probe F1"), ("loss_true", "loss on true characters (nats/char)")]
    figure, axes = plt.subplots(
        len(probes), len(metrics), figsize=(10, 2.8 * len(probes) + 0.6), squeeze=False, layout="constrained"
    )
    for panels, (layer, kind) in zip(axes, probes, strict=True):
        rows = ok[(ok["layer"] == layer) & (ok["kind"] == kind)]
        ks = sorted(rows["k"].unique())
        for panel, (metric, label) in zip(panels, metrics, strict=True):
            for ranking, lines in rows[rows["ranking"] != RANDOM].groupby("ranking", sort=False):
                by_k = lines.sort_values("k")
                panel.plot(by_k["k"], by_k[f"{metric}_after"], marker="o", color=colours[ranking], label=ranking)
            random = rows[rows["ranking"] == RANDOM].groupby("k")[f"{metric}_after"].agg(["mean", "min", "max"])
            if not random.empty:
                panel.plot(random.index, random["mean"], marker=".", color="grey", label="random (mean, min-max)")
                panel.fill_between(random.index, random["min"], random["max"], color="grey", alpha=0.25)
            panel.axhline(
                rows[f"{metric}_before"].iloc[0], color="black", linestyle="--", linewidth=0.8, label="before"
            )
            panel.set_xscale("log")
            panel.set_xticks(ks, labels=[str(k) for k in ks])
            panel.tick_params(axis="x", which="minor", bottom=False, labelbottom=False)
            panel.set_xlabel("k units silenced")
            panel.set_ylabel(label, fontsize=8)
            panel.set_title(f"{state_column(layer, kind)}: {label}", fontsize=9, loc="left")
    axes[0, 0].legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    save_figure(figure, png_path, svg=False)


RANKING_SUMMARY_KEYS = ["model", "hypothesis", "layer", "kind", "k"]
RANKING_SUMMARY_COLUMNS = [
    *["model", "hypothesis", "weighting", "layer", "kind", "k", "ranking", "units"],
    *["loss_true_before", "loss_true_increase", "random_loss_true_increase_mean"],
    *["random_loss_true_increase_min", "random_loss_true_increase_max"],
    *["f1_before", "f1_drop", "random_f1_drop_mean", "best_by_loss_true", "n_chars", "streams"],
]


def ranking_summary(ablation: pd.DataFrame) -> pd.DataFrame:
    """One row per ranking, probe (model, hypothesis, layer, kind) and k of the ``ok`` rows of
    ``ablation`` (the rows of :func:`rnnscope.neurons.ablation_rows`): the rise in loss on true characters and the
    drop in probe F1 that silencing its top k units caused, beside the random-k draws' mean, min
    and max rise (and mean drop), and ``best_by_loss_true``: this ranking's rise is the largest
    of its probe and k (ties, such as rankings that chose the same units, are all best)."""
    ok = ablation[ablation["status"] == "ok"].assign(
        loss_true_increase=lambda rows: rows["loss_true_after"] - rows["loss_true_before"],
        f1_drop=lambda rows: rows["f1_before"] - rows["f1_after"],
    )
    random = (
        ok[ok["ranking"] == RANDOM]
        .groupby(RANKING_SUMMARY_KEYS)
        .agg(
            random_loss_true_increase_mean=("loss_true_increase", "mean"),
            random_loss_true_increase_min=("loss_true_increase", "min"),
            random_loss_true_increase_max=("loss_true_increase", "max"),
            random_f1_drop_mean=("f1_drop", "mean"),
        )
        .reset_index()
    )
    ranked = ok[ok["ranking"] != RANDOM].merge(random, on=RANKING_SUMMARY_KEYS, how="left")
    largest = ranked.groupby(RANKING_SUMMARY_KEYS)["loss_true_increase"].transform("max")
    ranked["best_by_loss_true"] = ranked["loss_true_increase"] == largest
    return ranked[RANKING_SUMMARY_COLUMNS]


def neuron_rankings_table(paths: Sequence[str | Path], csv_path: str | Path, settings: dict) -> pd.DataFrame:
    """results/tables/neuron_rankings.csv: :func:`ranking_summary` of every model's and hypothesis's ablations."""
    table = ranking_summary(pd.concat([pd.read_csv(path) for path in paths], ignore_index=True))
    write_table(
        table,
        csv_path,
        "Unit rankings judged by ablation (from results/neurons/<model>/<hypothesis>/rankings.csv): "
        "for each probe (a logistic probe of one layer and state kind, standardised, C and weighting "
        "of config rankings), ranking and k, the top k units of the ranking are silenced (h = 0, and "
        "c = 0 for LSTMs, at every step). probe_weight = largest |w| of that probe; elastic_net = "
        "largest |w| of an elastic-net logistic regression (rankings.elastic_net) on standardised "
        "states; mean_difference = largest |mean(x | true) - mean(x | false)| (no probe); all three "
        "from the first rankings.fit_tokens characters of the TRAIN split after probe.warmup_tokens. "
        "Effects are measured on the first rankings.max_tokens characters of the held-out TEST split "
        "(n_chars scored, one sequence): loss_true_increase = "
        "next-character cross entropy (nats/char) on characters where the hypothesis holds, after minus "
        "before; f1_drop = the probe's F1 before minus after; random_* = the same over "
        "rankings.random_repeats draws of k random units outside the probe_weight top k (numpy seed "
        "rankings.seed): mean, min and max; best_by_loss_true marks the ranking(s) with the largest "
        "loss_true_increase per model, hypothesis, layer, kind and k. Skipped ablations (status not ok) are "
        f"left out. Config rankings: {settings}.",
    )
    return table
