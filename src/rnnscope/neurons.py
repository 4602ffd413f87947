"""The most responsible neuron of a probe (seed 003, Figures 2 and 7), shown and then ablated.

Seed 003 takes the unit with the largest absolute probe weight as the neuron most responsible
for a hypothesis and shows its activation over text. Here that unit is plotted as coloured text
(Karpathy-style) above the hypothesis and the probe's prediction for every character, and then
tested causally: the model is rerun with the unit (or the top-k units by |w|, or k random units
as a control) silenced, and the change in the probe's F1 and in the language-model loss is
measured.

Silencing unit j of layer l means h_j := 0 at every step, so the ablation propagates through the
recurrence: every reader of h_j (the layer's own recurrent weights at the next step, the next
layer's input weights or the decoder) sees 0. That is done exactly, at fused speed, by zeroing
the columns of those weight matrices that read h_j. For an LSTM the cell state c_j is zeroed as
well: c_j reaches the rest of the network only through h_j = o_j tanh(c_j), so zeroing c_j
changes nothing downstream once h_j is 0; it makes the recorded state of the silenced unit 0 for
probes on c too. States of the silenced units are recorded as 0 (the value the intervention
gives them). Probes on gates are not ablated (a silenced unit's gates are still computed from
the other units, so "zeroing" them is a different intervention).

Which k units are silenced is judged by ablation across rankings of the units (config
``neurons.rankings``), each applied to every k of ``neurons.k``:

- ``probe_weight``: largest |w| of the fitted probe (results/probes weights.npz), seed 003's;
- ``elastic_net``: largest |w| of an elastic-net logistic regression (L1 + L2) on standardised
  states, the weight-mass ordering of NeuroX (Dalvi et al. 2019), which for one binary probe is
  |w| descending; units the L1 term zeroes follow in index order;
- ``mean_difference``: largest |mean(x | true) - mean(x | false)|, probe-free (Antverg &
  Belinkov 2022).

The last two are fitted on the states of the first ``neurons.ranking_tokens`` characters of the
TRAIN split (after probe.warmup_tokens), so the held-out text they are judged on is not the text
they were chosen on, as for the probe. The random control draws k units outside the
``probe_weight`` top k (as before the other rankings came), whichever rankings are configured,
so its draws do not depend on them. A unit set several rankings agree on is run once.
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.collections import PatchCollection
from matplotlib.patches import Rectangle
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from torch import nn

from rnnscope.artifacts import write_atomically, write_table, write_text_atomically
from rnnscope.extract import layer_modules, stream_states
from rnnscope.figures import save_figure
from rnnscope.labels import read_labels
from rnnscope.models import RNNModel, load_model
from rnnscope.schema import check_settings
from rnnscope.states import state_column
from rnnscope.text import encode, load_vocab, read_utf8

log = logging.getLogger(__name__)

ABLATABLE_KINDS = ("h", "c")
RANKINGS = ("probe_weight", "elastic_net", "mean_difference")
RANDOM = "random"  # the `ranking` of the random-k control rows
# saga on standardised states; a fit still short of its tolerance is logged, its order kept.
ELASTIC_NET_MAX_ITER = 1000
ABLATION_COLUMNS = [
    *["model", "layer", "kind", "hypothesis", "weighting", "ranking", "k", "repeat", "units"],
    *["f1_before", "f1_after", "loss_true_before", "loss_true_after", "loss_all_before", "loss_all_after"],
    *["n_chars", "streams", "n_true", "f1_probe_table", "status"],
]


@dataclass(frozen=True)
class ElasticNetSettings:
    """The elastic-net ranking's penalty (config ``neurons.elastic_net``): scikit-learn's
    ``l1_ratio`` (1 = L1 only) and ``C`` (inverse strength, on standardised states)."""

    l1_ratio: float = 0.5
    C: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "l1_ratio", float(self.l1_ratio))
        object.__setattr__(self, "C", float(self.C))
        check_settings("neurons.elastic_net", self)


@dataclass(frozen=True)
class NeuronSettings:
    """Which probes are ablated and shown, which unit rankings are judged, and on how much text
    (config ``neurons``)."""

    kinds: tuple[str, ...]
    weighting: str
    k: tuple[int, ...]
    random_repeats: int
    seed: int
    max_tokens: int
    heatmap_chars: int
    heatmap_width: int
    streams: int = 1
    rankings: tuple[str, ...] = RANKINGS
    ranking_tokens: int = 20000
    elastic_net: ElasticNetSettings = field(default_factory=ElasticNetSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "k", tuple(sorted(set(self.k))))
        object.__setattr__(self, "rankings", tuple(dict.fromkeys(self.rankings)))  # config order, once each
        if isinstance(self.elastic_net, dict):
            object.__setattr__(self, "elastic_net", ElasticNetSettings(**self.elastic_net))
        check_settings("neurons", self)


@dataclass(frozen=True)
class Probe:
    """A fitted binary probe read back from weights.npz: p(True) = sigmoid(w · z + b), z = (x - mean) / scale."""

    coef: np.ndarray  # (hidden,)
    intercept: float
    mean: np.ndarray | None
    scale: np.ndarray | None

    @classmethod
    def load(cls, weights_npz: str | Path, key: str) -> Probe:
        with np.load(weights_npz) as arrays:
            if key not in arrays:
                raise ValueError(f"{weights_npz} has no probe {key!r}; rerun the probe rule for this model")
            classes = arrays[f"{key}/classes"]
            if classes.tolist() != [False, True]:
                raise ValueError(f"probe {key} has classes {classes.tolist()}; only binary hypotheses can be ablated")
            standardized = f"{key}/mean" in arrays
            return cls(
                coef=arrays[key][0].astype(np.float64),
                intercept=float(arrays[f"{key}/intercept"][0]),
                mean=arrays[f"{key}/mean"] if standardized else None,
                scale=arrays[f"{key}/scale"] if standardized else None,
            )

    def decision(self, states: np.ndarray) -> np.ndarray:
        z = states if self.mean is None else (states - self.mean) / self.scale
        return z @ self.coef + self.intercept

    def probability(self, states: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision(states)))

    def predict(self, states: np.ndarray) -> np.ndarray:
        return self.decision(states) > 0

    def unit_order(self) -> np.ndarray:
        """Every unit, largest |w| first (ties: lower index first)."""
        return np.argsort(-np.abs(self.coef), kind="stable")

    def top_units(self, k: int) -> list[int]:
        """The k units with the largest |w| (ties: lower index first)."""
        return [int(unit) for unit in self.unit_order()[:k]]


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


def silence_units(model: RNNModel, layer: int, units: Sequence[int]) -> RNNModel:
    """A copy of ``model`` in which every reader of h_j (j in ``units``, layer ``layer``) sees 0."""
    silenced = copy.deepcopy(model)
    units = list(units)
    if not units:
        return silenced
    if not 0 <= layer < model.config.layers or min(units) < 0 or max(units) >= model.config.hidden:
        raise ValueError(
            f"cannot silence units {units} of layer {layer}: the model has {model.config.layers} layers "
            f"of {model.config.hidden} units"
        )
    with torch.no_grad():
        getattr(silenced.rnn, f"weight_hh_l{layer}")[:, units] = 0.0
        reader = (
            silenced.decoder.weight
            if layer == model.config.layers - 1
            else getattr(silenced.rnn, f"weight_ih_l{layer + 1}")
        )
        reader[:, units] = 0.0
    return silenced


@torch.no_grad()
def run_states(
    model: RNNModel,
    ids: np.ndarray,
    kinds: Sequence[str],
    silenced: tuple[int, Sequence[int]] | None = None,
    streams: int = 1,
    modules: Sequence[nn.Module] | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """States ``l{layer}_{kind}`` (T, hidden) of every layer over ``ids``, and
    log p(ids[t + 1] | ids[..t]) for every t (NaN where t ends a stream).

    ``ids`` is cut into ``streams`` equal consecutive segments (the last ``T mod streams`` ids are
    dropped), each run from a zero state and all of them as one batch: on a CPU a batch of s
    sequences costs little more per step than one (measured in ``bench/neurons_speed.py``), and
    the result equals running each segment alone (tested). ``streams = 1`` is one sequence.

    With ``silenced = (layer, units)`` the model runs with those units silenced (module
    docstring) and their recorded h (and c) are 0. The forward pass is
    :func:`rnnscope.extract.stream_states`, as in :func:`rnnscope.extract.extract_states`, held in memory.
    ``modules`` replaces its per-layer modules (default :func:`rnnscope.extract.layer_modules`),
    for an intervention inside a layer (:class:`rnnscope.erasure.ErasedLayer`); h only then.
    """
    if modules is not None and (silenced is not None or set(kinds) != {"h"}):
        raise ValueError("run_states with modules given records h only and silences nothing")
    if not 1 <= streams <= len(ids) // 2:
        raise ValueError(f"{streams} streams over {len(ids)} tokens: each stream needs at least 2 tokens")
    if silenced is not None:
        model = silence_units(model, *silenced)
    length = len(ids) // streams
    tokens = torch.from_numpy(np.asarray(ids[: streams * length], dtype=np.int64)).view(streams, length)
    if modules is None:
        modules = layer_modules(model)
    columns, x = stream_states(model, modules, tokens, [None] * len(modules), kinds)
    hidden = model.config.hidden
    states = {column: values.reshape(streams * length, hidden).numpy().copy() for column, values in columns.items()}
    if silenced is not None:
        layer, units = silenced
        for kind in set(kinds) & set(ABLATABLE_KINDS):
            states[state_column(layer, kind)][:, list(units)] = 0.0
    log_probs = torch.log_softmax(model.decoder(x[:, :-1]), dim=-1)
    next_log_prob = torch.full((streams, length), float("nan"))
    next_log_prob[:, :-1] = log_probs.gather(2, tokens[:, 1:, None])[..., 0]
    return states, next_log_prob.reshape(-1).numpy()


def mean_loss(next_log_prob: np.ndarray, rows: np.ndarray) -> float:
    """Mean nats per character of the predictions made from the states at ``rows`` (a stream's
    last row predicts nothing: NaN, left out)."""
    losses = -next_log_prob[rows]
    losses = losses[~np.isnan(losses)]
    return float(losses.mean()) if len(losses) else float("nan")


def ranking_orders(
    model: RNNModel,
    train_ids: np.ndarray,
    train_labels: np.ndarray,
    probes: dict[tuple[int, str], Probe],
    settings: NeuronSettings,
    warmup_tokens: int = 0,
) -> tuple[dict[tuple[int, str], dict[str, np.ndarray]], dict[str, str]]:
    """Each configured ranking's order of the units (most important first) of every probe's layer
    and kind, the train-split rankings on the states of ``train_ids`` from ``warmup_tokens`` on;
    and why a ranking was left out (the train characters lack a class), by ranking."""
    orders: dict[tuple[int, str], dict[str, np.ndarray]] = {
        key: {"probe_weight": probe.unit_order()} for key, probe in probes.items()
    }
    trained = [ranking for ranking in settings.rankings if ranking != "probe_weight"]
    if not trained:
        return orders, {}
    labels = train_labels[warmup_tokens:]
    if labels.all() or not labels.any():
        reason = (
            f"the first {len(train_labels)} train characters (neurons.ranking_tokens) after probe.warmup_tokens "
            f"are all {bool(labels[0])}"
        )
        log.warning("%s: leaving out rankings %s", reason, trained)
        return orders, dict.fromkeys(trained, f"skipped: {reason}")
    states, _ = run_states(model, train_ids, sorted({kind for _, kind in probes}), streams=settings.streams)
    for (layer, kind), layer_orders in orders.items():
        layer_states = states[state_column(layer, kind)][warmup_tokens:]
        if "mean_difference" in trained:
            layer_orders["mean_difference"] = mean_difference_order(layer_states, labels)
        if "elastic_net" in trained:
            layer_orders["elastic_net"] = elastic_net_order(
                layer_states, labels, settings.elastic_net, settings.weighting == "balanced", settings.seed
            )
    return orders, {}


class AblationScores(NamedTuple):
    """What silencing one unit set of one layer did, on the scored characters."""

    f1_after: dict[str, float]  # by state column: that column's probe on the ablated states
    loss_true_after: float
    loss_all_after: float


def ablation_rows(
    model: RNNModel,
    ids: np.ndarray,
    labels: np.ndarray,
    probes: dict[tuple[int, str], Probe],
    orders: dict[tuple[int, str], dict[str, np.ndarray]],
    settings: NeuronSettings,
    base: dict[str, object],
    warmup_tokens: int = 0,
    unranked: dict[str, str] | None = None,
) -> list[dict[str, object]]:
    """One row per ablation of every probe in ``probes``: the top k units of each ranking of
    ``settings.rankings`` (their orders in ``orders``, or a skipped row with the reason in
    ``unranked``) and k random units outside the probe's top k by |w|, for each k, scored on the
    characters from ``warmup_tokens`` on (the probes' own rows: ``probe.warmup_tokens``). Each
    distinct unit set of a layer is run once, every kind of that layer's probes recorded."""
    unranked = unranked or {}
    kinds_of_layer: dict[int, list[str]] = {}
    for layer, kind in sorted(probes):
        kinds_of_layer.setdefault(layer, []).append(kind)
    states, log_prob = run_states(model, ids, sorted({kind for _, kind in probes}), streams=settings.streams)
    all_rows = np.arange(warmup_tokens, len(ids))
    labels = labels[all_rows]
    true_rows = all_rows[labels]
    loss_true_before, loss_all_before = mean_loss(log_prob, true_rows), mean_loss(log_prob, all_rows)
    scored: dict[tuple[int, frozenset[int]], AblationScores] = {}

    def silenced_scores(layer: int, units: list[int]) -> AblationScores:
        key = (layer, frozenset(units))
        if key not in scored:
            after, after_log_prob = run_states(
                model, ids, kinds_of_layer[layer], silenced=(layer, units), streams=settings.streams
            )
            scored[key] = AblationScores(
                f1_after={
                    state_column(layer, kind): f1_score(
                        labels,
                        probes[(layer, kind)].predict(after[state_column(layer, kind)][all_rows]),
                        zero_division=0,
                    )
                    for kind in kinds_of_layer[layer]
                },
                loss_true_after=mean_loss(after_log_prob, true_rows),
                loss_all_after=mean_loss(after_log_prob, all_rows),
            )
        return scored[key]

    hidden = model.config.hidden
    rows: list[dict[str, object]] = []
    for (layer, kind), probe in sorted(probes.items()):
        column = state_column(layer, kind)
        f1_before = f1_score(labels, probe.predict(states[column][all_rows]), zero_division=0)
        rng = np.random.default_rng(settings.seed)
        for k in settings.k:
            common = base | {
                "layer": layer,
                "kind": kind,
                "k": k,
                "f1_before": f1_before,
                "loss_true_before": loss_true_before,
                "loss_all_before": loss_all_before,
            }
            if 2 * k > hidden:
                log.warning(
                    "skipping k=%d for %s: a random control needs k units outside the top %d of %d",
                    k,
                    column,
                    k,
                    hidden,
                )
                rows += [
                    common | {"ranking": ranking, "status": f"skipped: 2k > {hidden} units"}
                    for ranking in settings.rankings
                ]
                continue
            outside = np.setdiff1d(np.arange(hidden), probe.top_units(k))
            draws = [
                (ranking, 0, [int(unit) for unit in orders[(layer, kind)][ranking][:k]])
                for ranking in settings.rankings
                if ranking not in unranked
            ] + [
                (RANDOM, repeat, sorted(int(u) for u in rng.choice(outside, size=k, replace=False)))
                for repeat in range(settings.random_repeats)
            ]
            rows += [common | {"ranking": ranking, "status": unranked[ranking]} for ranking in unranked]
            for ranking, repeat, units in draws:
                scores = silenced_scores(layer, units)
                rows.append(
                    common
                    | {
                        "ranking": ranking,
                        "repeat": repeat,
                        "units": " ".join(map(str, units)),
                        "f1_after": scores.f1_after[column],
                        "loss_true_after": scores.loss_true_after,
                        "loss_all_after": scores.loss_all_after,
                        "status": "ok",
                    }
                )
                if ranking != RANDOM:
                    log.info(
                        "%s %s: %s top-%d units %s, F1 %.3f -> %.3f, loss on true %.3f -> %.3f",
                        column,
                        base["hypothesis"],
                        ranking,
                        k,
                        units,
                        f1_before,
                        scores.f1_after[column],
                        loss_true_before,
                        scores.loss_true_after,
                    )
    log.info("%d distinct unit sets run for %d ablation rows", len(scored), len(rows))
    return rows


def char_cells(text: str, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every character when ``text`` is laid out like a page: a newline is
    drawn (as ↵) at the end of its line and the next character starts a new row; long lines wrap."""
    rows, cols = np.empty(len(text), dtype=int), np.empty(len(text), dtype=int)
    row = col = 0
    for index, char in enumerate(text):
        if col == width:
            row, col = row + 1, 0
        rows[index], cols[index] = row, col
        if char == "\n":
            row, col = row + 1, 0
        else:
            col += 1
    return rows, cols


def heatmap_window(text: str, labels: np.ndarray, length: int) -> int:
    """Start (a line start) of the ``length``-character window with the most balanced labels."""
    starts = np.array([0] + [i + 1 for i, char in enumerate(text[:-1]) if char == "\n"])
    starts = starts[starts + length <= len(text)] if len(text) > length else np.array([0])
    if not len(starts):
        return 0
    cumulative = np.concatenate([[0], np.cumsum(labels)])
    true = cumulative[np.minimum(starts + length, len(labels))] - cumulative[starts]
    balance = np.minimum(true, np.minimum(starts + length, len(labels)) - starts - true)
    return int(starts[np.argmax(balance)])


def draw_coloured_text(
    axes: plt.Axes, text: str, values: np.ndarray, cmap: str, vmin: float, vmax: float, width: int, title: str
) -> None:
    """One panel: each character on a cell coloured by its value."""
    rows, cols = char_cells(text, width)
    colours = plt.get_cmap(cmap)(np.clip((values - vmin) / (vmax - vmin), 0, 1))
    cells = [Rectangle((col, -row - 1), 1, 1) for row, col in zip(rows, cols, strict=True)]
    axes.add_collection(PatchCollection(cells, facecolors=colours, edgecolors="none"))
    for char, row, col in zip(text, rows, cols, strict=True):
        shown = "↵" if char == "\n" else char
        if shown.strip():
            axes.text(col + 0.5, -row - 0.5, shown, ha="center", va="center", family="monospace", fontsize=7)
    axes.set_xlim(0, width)
    axes.set_ylim(-rows.max() - 1, 0)
    axes.set_aspect("auto")
    axes.axis("off")
    axes.set_title(title, fontsize=9, loc="left")


def plot_neuron_heatmap(
    text: str,
    activation: np.ndarray,
    labels: np.ndarray,
    probability: np.ndarray,
    title: str,
    unit_title: str,
    png_path: str | Path,
    width: int,
) -> None:
    """Seed 003 Figures 7 and 2 for one probe: the top unit's activation, the hypothesis and the
    probe's p(True) for every character of ``text``."""
    lines = char_cells(text, width)[0].max() + 1
    figure, axes = plt.subplots(3, 1, figsize=(width * 0.11 + 0.5, 3 * (lines * 0.2 + 0.45) + 0.5))
    # The unit's own range in the window: a unit that varies around an offset still shows its changes.
    low, high = float(activation.min()), float(activation.max())
    high = max(high, low + 1e-6)
    # The figure title goes into the first panel's title: a suptitle overlaps it in tall figures.
    draw_coloured_text(
        axes[0],
        text,
        activation,
        "coolwarm",
        low,
        high,
        width,
        f"{title}\n{unit_title} (blue {low:.2f} to red {high:.2f})",
    )
    draw_coloured_text(axes[1], text, labels.astype(float), "Greens", -0.2, 1.2, width, "hypothesis (green: true)")
    draw_coloured_text(
        axes[2], text, probability, "Greens", -0.2, 1.2, width, "diagnostic classifier p(true) (all units)"
    )
    figure.tight_layout()
    save_figure(figure, png_path, svg=False)


def plot_no_probe(reason: str, title: str, png_path: str | Path) -> None:
    """The figure for a hypothesis without a fitted probe: says why instead of showing a unit."""
    figure, axes = plt.subplots(figsize=(6, 1.2))
    axes.axis("off")
    axes.text(0.0, 0.5, f"{title}\nno fitted probe: {reason}", va="center", fontsize=9)
    save_figure(figure, png_path, svg=False)


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


def labelled_characters(
    text_path: str | Path,
    vocab_path: str | Path,
    labels_path: str | Path,
    hypothesis: str,
    max_tokens: int,
    streams: int,
    section: str,
) -> tuple[str, np.ndarray, np.ndarray]:
    """The first ``max_tokens`` characters of a split (at most those labelled in ``labels_path``,
    a multiple of ``streams``), their token ids and the binary ``hypothesis`` on each. Errors
    name the config ``section`` whose keys chose them."""
    frame, kinds = read_labels(labels_path)
    if hypothesis not in kinds:
        raise ValueError(
            f"hypothesis {hypothesis!r} is not labelled in {labels_path} (it has {sorted(kinds)}); fix config {section}.hypotheses"
        )
    if kinds[hypothesis] != "binary":
        raise ValueError(
            f"hypothesis {hypothesis!r} is {kinds[hypothesis]}; {section}.hypotheses takes binary hypotheses (F1 of a classifier)"
        )
    count = min(max_tokens, len(frame))
    if count < 2 * streams:
        raise ValueError(
            f"{section}.streams {streams} leaves fewer than 2 characters per stream over the {count} labelled "
            f"characters of {labels_path}; lower {section}.streams"
        )
    count -= count % streams  # equal streams
    text = read_utf8(text_path)[:count]
    values = frame[hypothesis].iloc[:count]
    if values.isna().any():
        raise ValueError(
            f"hypothesis {hypothesis!r} is undefined on some of the first {count} characters of {labels_path}"
        )
    return text, np.asarray(encode(text, load_vocab(vocab_path))), values.to_numpy(dtype=bool)


def analyse_neurons(
    checkpoint: str | Path,
    text_path: str | Path,
    vocab_path: str | Path,
    labels_path: str | Path,
    train_text_path: str | Path,
    train_labels_path: str | Path,
    metrics_csv: str | Path,
    weights_npz: str | Path,
    hypothesis: str,
    settings: NeuronSettings,
    ablation_csv: str | Path,
    heatmap_png: str | Path,
    rankings_png: str | Path,
    model_name: str,
    threads: int = 1,
    warmup_tokens: int = 0,
    heatmap_json: str | Path | None = None,
) -> pd.DataFrame:
    """Ablate the top-k units of each ranking and k random units of every fitted probe of
    ``hypothesis`` (each layer, the configured kinds and weighting) on the first ``max_tokens``
    characters of held-out text (cut into ``streams`` equal segments, each from a zero state;
    scored from ``warmup_tokens`` on), the train-split rankings fitted on the first
    ``ranking_tokens`` characters of the train split (``train_text_path``, ``train_labels_path``),
    and plot the best layer's top unit. Writes ``ablation_csv``, ``heatmap_png``, the rankings'
    effect against k to ``rankings_png``, and the heatmap's data (text, activation, hypothesis,
    p(true); the explorer draws it) to ``heatmap_json``."""
    torch.set_num_threads(threads)
    model, _ = load_model(checkpoint)
    text, ids, labels = labelled_characters(
        text_path, vocab_path, labels_path, hypothesis, settings.max_tokens, settings.streams, "neurons"
    )
    if len(ids) <= warmup_tokens:
        raise ValueError(
            f"probe.warmup_tokens {warmup_tokens} leaves none of the {len(ids)} characters neurons.max_tokens takes from "
            f"{labels_path}; raise neurons.max_tokens or lower probe.warmup_tokens"
        )

    metrics = pd.read_csv(metrics_csv)
    chosen = metrics[
        (metrics["hypothesis"] == hypothesis)
        & (metrics["weighting"] == settings.weighting)
        & metrics["kind"].isin(settings.kinds)
    ]
    fitted = chosen[chosen["status"] == "ok"]
    base = {
        "model": model_name,
        "hypothesis": hypothesis,
        "weighting": settings.weighting,
        "n_chars": len(ids) - warmup_tokens,
        "streams": settings.streams,
        "n_true": int(labels[warmup_tokens:].sum()),
    }
    title = f"{model_name}: {hypothesis}, {settings.weighting} probe, held-out test split"
    if fitted.empty:
        reason = (
            "; ".join(sorted(set(chosen["status"])))
            or f"no {settings.weighting} probe on kinds {list(settings.kinds)} in {metrics_csv}"
        )
        log.warning("%s: %s", hypothesis, reason)
        table = pd.DataFrame([base | {"status": f"skipped: {reason}"}], columns=ABLATION_COLUMNS)
        plot_no_probe(reason, title, heatmap_png)
        plot_no_probe(reason, title, rankings_png)
        shown: dict[str, object] = {
            "model": model_name,
            "hypothesis": hypothesis,
            "status": "skipped",
            "reason": reason,
            "title": title,
        }
    else:
        probes = {
            (int(row["layer"]), row["kind"]): Probe.load(
                weights_npz, f"{state_column(int(row['layer']), row['kind'])}/{hypothesis}/{settings.weighting}"
            )
            for row in fitted.to_dict("records")
        }
        train_ids, train_labels = np.empty(0, dtype=np.int64), np.empty(0, dtype=bool)
        if set(settings.rankings) - {"probe_weight"}:
            _, train_ids, train_labels = labelled_characters(
                train_text_path,
                vocab_path,
                train_labels_path,
                hypothesis,
                settings.ranking_tokens,
                settings.streams,
                "neurons",
            )
            if len(train_ids) <= warmup_tokens:
                raise ValueError(
                    f"probe.warmup_tokens {warmup_tokens} leaves none of the {len(train_ids)} characters "
                    f"neurons.ranking_tokens takes from {train_labels_path}; raise neurons.ranking_tokens"
                )
        orders, unranked = ranking_orders(model, train_ids, train_labels, probes, settings, warmup_tokens)
        table = pd.DataFrame(
            ablation_rows(model, ids, labels, probes, orders, settings, base, warmup_tokens, unranked),
            columns=ABLATION_COLUMNS,
        )
        plot_rankings(table, title, rankings_png)
        probe_f1 = fitted.set_index(["layer", "kind"])["f1"]
        table["f1_probe_table"] = [
            probe_f1.get((layer, kind), np.nan) for layer, kind in zip(table["layer"], table["kind"], strict=True)
        ]
        best = fitted.sort_values(["f1", "layer"], ascending=[False, True]).iloc[0]
        layer, kind = int(best["layer"]), best["kind"]
        probe = probes[(layer, kind)]
        unit = probe.top_units(1)[0]
        if unit != int(best["top_unit"]):
            raise ValueError(
                f"top unit of {layer}/{kind} in {weights_npz} ({unit}) differs from {metrics_csv} ({best['top_unit']}); rerun the probe rule"
            )
        states, _ = run_states(model, ids, [kind], streams=settings.streams)
        column = state_column(layer, kind)
        start = heatmap_window(text, labels, settings.heatmap_chars)
        window = slice(start, start + settings.heatmap_chars)
        heatmap_title = title + f", characters {start}-{start + len(text[window]) - 1}"
        unit_title = f"layer {layer} {kind}, unit {unit} (largest |w| = {abs(probe.coef[unit]):.3f} of the probe on {column}, held-out F1 {best['f1']:.3f})"
        shown = {
            "model": model_name,
            "hypothesis": hypothesis,
            "status": "ok",
            "layer": layer,
            "kind": kind,
            "unit": unit,
            "title": heatmap_title,
            "unit_title": unit_title,
            "start": start,
            "width": settings.heatmap_width,
            "text": text[window],
            "activation": [float(f"{v:.4g}") for v in states[column][window, unit].tolist()],
            "labels": labels[window].astype(int).tolist(),
            "probability": [float(f"{v:.3g}") for v in probe.probability(states[column][window]).tolist()],
        }
        plot_neuron_heatmap(
            text[window],
            states[column][window, unit],
            labels[window],
            probe.probability(states[column][window]),
            heatmap_title,
            unit_title,
            heatmap_png,
            settings.heatmap_width,
        )
    if heatmap_json is not None:
        write_text_atomically(heatmap_json, json.dumps(shown, ensure_ascii=False))
    write_atomically(ablation_csv, lambda partial: table.to_csv(partial, index=False))
    return table


def ablation_table(paths: Sequence[str | Path], csv_path: str | Path, settings: dict) -> pd.DataFrame:
    """results/tables/ablation.csv: every model's and hypothesis's ablations."""
    table = pd.concat([pd.read_csv(path) for path in paths], ignore_index=True)
    write_table(
        table,
        csv_path,
        "Ablation of the top k units of each `ranking`: probe_weight = largest |w| of the fitted probe "
        "(seed 003's most responsible neuron at k = 1), elastic_net = largest |w| of an elastic-net "
        "logistic regression on standardised states, mean_difference = largest |mean(x | true) - "
        "mean(x | false)|, the last two on the train split's first neurons.ranking_tokens characters "
        "after probe.warmup_tokens; and, as a control, of k random units outside the probe_weight top k "
        "(ranking = random, `repeat` = draw): each unit is silenced (h = 0, and c = 0 "
        "for LSTMs) at every step of the layer the probe reads, so the ablation propagates through "
        "the recurrence. `units` in ranking order (random: ascending). "
        "f1 = the fitted probe's F1 on that layer's states before/after; loss = "
        "next-character cross entropy in nats on characters where the hypothesis is true (true) "
        "and on all characters (all); text = the held-out test split's first characters, run as "
        "`streams` equal segments each from a zero state (1 = one sequence), scored on n_chars of "
        "them after the first probe.warmup_tokens (the rows the probes leave out); "
        "f1_probe_table = the probe's F1 in results/probes, on the probes' own test rows (spread over "
        "the whole test split under extract.sampling spread, so it differs a little from f1_before, "
        f"which scores the text above). Config neurons: {settings}.",
    )
    return table


RANKING_SUMMARY_KEYS = ["model", "hypothesis", "layer", "kind", "k"]
RANKING_SUMMARY_COLUMNS = [
    *["model", "hypothesis", "weighting", "layer", "kind", "k", "ranking", "units"],
    *["loss_true_before", "loss_true_increase", "random_loss_true_increase_mean"],
    *["random_loss_true_increase_min", "random_loss_true_increase_max"],
    *["f1_before", "f1_drop", "random_f1_drop_mean", "best_by_loss_true", "n_chars", "streams"],
]


def ranking_summary(ablation: pd.DataFrame) -> pd.DataFrame:
    """One row per ranking, probe (model, hypothesis, layer, kind) and k of the ``ok`` rows of
    ``ablation`` (the rows of :func:`ablation_rows`): the rise in loss on true characters and the
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
        "Unit rankings judged by ablation (from results/neurons/<model>/<hypothesis>/ablation.csv, "
        "collected in results/tables/ablation.csv): for each probe (the fitted "
        f"{settings.get('weighting')} probe of a layer and state kind), ranking and k, the top k units "
        "of the ranking are silenced (h = 0, and c = 0 for LSTMs, at every step). probe_weight = largest "
        "|w| of the fitted probe; elastic_net = largest |w| of an elastic-net logistic regression "
        "(neurons.elastic_net) on standardised states; mean_difference = largest |mean(x | true) - "
        "mean(x | false)|; the last two from the first neurons.ranking_tokens characters of the TRAIN "
        "split after probe.warmup_tokens. Effects are measured on the first neurons.max_tokens characters of "
        "the held-out TEST split (n_chars scored, run as `streams` segments): loss_true_increase = "
        "next-character cross entropy (nats/char) on characters where the hypothesis holds, after minus "
        "before; f1_drop = the probe's F1 before minus after; random_* = the same over "
        "neurons.random_repeats draws of k random units outside the probe_weight top k (numpy seed "
        "neurons.seed): mean, min and max; best_by_loss_true marks the ranking(s) with the largest "
        "loss_true_increase per model, hypothesis, layer, kind and k. Skipped ablations (status not ok) are "
        f"left out. Config neurons: {settings}.",
    )
    return table
