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

:func:`ablation_rows` silences the top k units of any unit ranking (:mod:`rnnscope.rankings`
judges several); this stage's ranking is the probe's |w| (``probe_weight``). The random control
draws k units outside the probe's top k by |w|. A unit set several rankings agree on is run once.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.collections import PatchCollection
from matplotlib.patches import Rectangle
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

if TYPE_CHECKING:
    from rnnscope.probes import ProbeFit

log = logging.getLogger(__name__)

ABLATABLE_KINDS = ("h", "c")
PROBE_WEIGHT = "probe_weight"  # the `ranking` of the probe's largest |w| (seed 003's neuron at k = 1)
RANDOM = "random"  # the `ranking` of the random-k control rows
ABLATION_COLUMNS = [
    *["model", "layer", "kind", "hypothesis", "weighting", "ranking", "k", "repeat", "units"],
    *["f1_before", "f1_after", "loss_true_before", "loss_true_after", "loss_all_before", "loss_all_after"],
    *["n_chars", "streams", "n_true", "f1_probe_table", "status"],
]


@dataclass(frozen=True)
class AblationSweep:
    """Which unit sets :func:`ablation_rows` silences: the top k of each ranking of ``rankings``
    for each of ``k``, and ``random_repeats`` draws of k random units (numpy ``seed``), on text
    run as ``streams`` segments."""

    rankings: tuple[str, ...]
    k: tuple[int, ...]
    random_repeats: int
    seed: int
    streams: int = 1


@dataclass(frozen=True)
class NeuronSettings:
    """Which probes are ablated and shown, and on how much held-out text (config ``neurons``)."""

    kinds: tuple[str, ...]
    weighting: str
    k: tuple[int, ...]
    random_repeats: int
    seed: int
    max_tokens: int
    heatmap_chars: int
    heatmap_width: int
    streams: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "k", tuple(sorted(set(self.k))))
        check_settings("neurons", self)

    @property
    def sweep(self) -> AblationSweep:
        return AblationSweep((PROBE_WEIGHT,), self.k, self.random_repeats, self.seed, self.streams)


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

    @classmethod
    def of_fit(cls, fit: ProbeFit) -> Probe:
        """A binary probe just fitted by :func:`rnnscope.probes.fit_probe`."""
        return cls(
            coef=fit.coef[0].astype(np.float64), intercept=float(fit.intercept[0]), mean=fit.mean, scale=fit.scale
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
    sweep: AblationSweep,
    base: dict[str, object],
    warmup_tokens: int = 0,
) -> list[dict[str, object]]:
    """One row per ablation of every probe in ``probes``: the top k units of each ranking of
    ``sweep.rankings`` (their orders in ``orders``) and k random units outside the probe's top k
    by |w|, for each k, scored on the characters from ``warmup_tokens`` on (the probes' own rows: ``probe.warmup_tokens``). Each
    distinct unit set of a layer is run once, every kind of that layer's probes recorded."""
    kinds_of_layer: dict[int, list[str]] = {}
    for layer, kind in sorted(probes):
        kinds_of_layer.setdefault(layer, []).append(kind)
    states, log_prob = run_states(model, ids, sorted({kind for _, kind in probes}), streams=sweep.streams)
    all_rows = np.arange(warmup_tokens, len(ids))
    labels = labels[all_rows]
    true_rows = all_rows[labels]
    loss_true_before, loss_all_before = mean_loss(log_prob, true_rows), mean_loss(log_prob, all_rows)
    scored: dict[tuple[int, frozenset[int]], AblationScores] = {}

    def silenced_scores(layer: int, units: list[int]) -> AblationScores:
        key = (layer, frozenset(units))
        if key not in scored:
            after, after_log_prob = run_states(
                model, ids, kinds_of_layer[layer], silenced=(layer, units), streams=sweep.streams
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
        rng = np.random.default_rng(sweep.seed)
        for k in sweep.k:
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
                    for ranking in sweep.rankings
                ]
                continue
            outside = np.setdiff1d(np.arange(hidden), probe.top_units(k))
            draws = [
                (ranking, 0, [int(unit) for unit in orders[(layer, kind)][ranking][:k]]) for ranking in sweep.rankings
            ] + [
                (RANDOM, repeat, sorted(int(u) for u in rng.choice(outside, size=k, replace=False)))
                for repeat in range(sweep.random_repeats)
            ]
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


def fit_and_test_characters(
    vocab_path: str | Path,
    fit: tuple[str | Path, str | Path, int],
    test: tuple[str | Path, str | Path, int],
    hypothesis: str,
    section: str,
    warmup_tokens: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ids and binary ``hypothesis`` labels of the text an intervention is fitted on and of the
    text it is scored on, each (text, labels, ``{section}.fit_tokens`` or ``.max_tokens``) read by
    :func:`labelled_characters` as one sequence; each must be longer than ``warmup_tokens`` + 1."""
    texts = []
    for key, (text_path, labels_path, max_tokens) in (("fit_tokens", fit), ("max_tokens", test)):
        _, ids, labels = labelled_characters(text_path, vocab_path, labels_path, hypothesis, max_tokens, 1, section)
        if len(ids) <= warmup_tokens + 1:
            raise ValueError(
                f"{section}.{key} leaves {len(ids)} characters, not more than probe.warmup_tokens "
                f"{warmup_tokens}; raise {section}.{key}"
            )
        texts += [ids, labels]
    fit_ids, fit_labels, test_ids, test_labels = texts
    return fit_ids, fit_labels, test_ids, test_labels


def analyse_neurons(
    checkpoint: str | Path,
    text_path: str | Path,
    vocab_path: str | Path,
    labels_path: str | Path,
    metrics_csv: str | Path,
    weights_npz: str | Path,
    hypothesis: str,
    settings: NeuronSettings,
    ablation_csv: str | Path,
    heatmap_png: str | Path,
    model_name: str,
    threads: int = 1,
    warmup_tokens: int = 0,
    heatmap_json: str | Path | None = None,
) -> pd.DataFrame:
    """Ablate the top-k units by |w| and k random units of every fitted probe of ``hypothesis``
    (each layer, the configured kinds and weighting) on the first ``max_tokens`` characters of
    held-out text (cut into ``streams`` equal segments, each from a zero state; scored from
    ``warmup_tokens`` on), and plot the best layer's top unit. Writes ``ablation_csv`` and
    ``heatmap_png``, and the heatmap's data (text, activation, hypothesis, p(true); the explorer
    draws it) to ``heatmap_json``."""
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
        orders = {key: {PROBE_WEIGHT: probe.unit_order()} for key, probe in probes.items()}
        table = pd.DataFrame(
            ablation_rows(model, ids, labels, probes, orders, settings.sweep, base, warmup_tokens),
            columns=ABLATION_COLUMNS,
        )
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
        "Ablation of the units a probe weights most (ranking = probe_weight: the top k by |w| of the "
        "fitted probe; seed 003's most responsible neuron at k = 1) and, as a control, of k random "
        "units outside them (ranking = random, `repeat` = draw): each unit is silenced (h = 0, and c = 0 "
        "for LSTMs) at every step of the layer the probe reads, so the ablation propagates through "
        "the recurrence. `units` in |w| order (random: ascending). Other rankings: "
        "results/tables/neuron_rankings.csv. "
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
