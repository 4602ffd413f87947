"""Concept erasure as a causal test: LEACE (Belrose et al. 2023, "LEACE: Perfect linear concept
erasure in closed form") fitted on a layer's states and applied inside the forward pass.

An eraser is the affine map x -> x - ((x - mean) @ right) @ left.T, a rank-k edit of the
identity. LEACE whitens x by its covariance Sigma (W = Sigma^{-1/2}), projects out the span U of
the whitened cross-covariance W Sigma_xz with the concept's one-hot z, and unwhitens: left =
W^+ U, right = W U. Afterwards the cross-covariance of x with z is 0, so no linear classifier
beats the majority rate, and of all such affine erasers it moves x least in mean squared
distance (any inner-product norm). The control erases a uniformly random direction of the
same whitened space, of the same rank (classes - 1, so 1 for a binary hypothesis).

The closed form is written here, in float64, rather than taken from the ``concept-erasure``
package (0.2.4 installs beside our torch: it requires an unpinned torch only): its defaults
drop whitened singular values under an absolute 0.01, which silently leaves a rare, weakly
encoded concept unerased (measured: a binary concept at 5% with cross-covariance 0.006 kept it
exactly), and its covariance-trace constraint mixes towards an orthogonal projection that does
not zero the cross-covariance. With those switched off what remains is these few lines, and
one dependency fewer to pin.

:func:`run_erased` runs the model with the eraser applied to one layer's h after every step:
the next layer (or the decoder) and that layer's own next step read the erased h, so the
erasure propagates through the recurrence. The fused layer cannot be intervened inside, so that
layer is stepped with a cell sharing its weights (:class:`ErasedLayer`); the others stay fused.
For an LSTM the cell state c is not erased: the eraser is fitted on h (the column the probes
read), and c reaches the rest of the network only through h = o * tanh(c), which is erased at
every step. Stepping costs a Python iteration per step of a stream (``bench/erasure_speed.py``,
20k characters, middle layer of a 3x128 LSTM, one thread: 1.37 s against 0.45 s fused as one
stream, 0.35 s against 0.17 s as 16 parallel streams).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from rnnscope.artifacts import write_atomically, write_table
from rnnscope.extract import layer_modules
from rnnscope.figures import save_figure
from rnnscope.models import RNNModel, load_model
from rnnscope.neurons import fit_and_test_characters, run_states
from rnnscope.probes import fit_probe, intervention_probe_settings
from rnnscope.schema import check_settings
from rnnscope.states import state_column

log = logging.getLogger(__name__)

# Eigenvalues of the covariance under this fraction of the largest are treated as 0 (whitening
# is then a pseudo-inverse), and so are whitened cross-covariance singular values under this
# fraction of the largest: relative, so the scale of the states does not decide what is erased.
RELATIVE_TOLERANCE = 1e-10


@dataclass(frozen=True)
class Eraser:
    """x -> x - ((x - mean) @ right) @ left.T for x (..., H); ``left`` and ``right`` are (H, rank).
    The mean of x is kept (the edit is 0 at the mean)."""

    mean: torch.Tensor
    left: torch.Tensor
    right: torch.Tensor

    @property
    def rank(self) -> int:
        return self.left.shape[1]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x - ((x - self.mean) @ self.right) @ self.left.T

    def like(self, x: torch.Tensor) -> Eraser:
        """The same eraser in the dtype and on the device of ``x`` (once, not at every step)."""
        return Eraser(self.mean.to(x), self.left.to(x), self.right.to(x))


def _whitening(states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean, W = Sigma^{-1/2} and W^+ = Sigma^{1/2} of states (N, H), pseudo-inverted on the null space."""
    mean = states.mean(0)
    centred = states - mean
    eigenvalues, vectors = torch.linalg.eigh(centred.T @ centred / (len(states) - 1))
    kept = eigenvalues > RELATIVE_TOLERANCE * eigenvalues[-1]
    root = eigenvalues.clamp_min(0.0).sqrt()
    whiten = (vectors * torch.where(kept, 1.0 / root, 0.0)) @ vectors.T
    unwhiten = (vectors * torch.where(kept, root, 0.0)) @ vectors.T
    return mean, whiten, unwhiten


def _as_float64(states: np.ndarray | torch.Tensor) -> torch.Tensor:
    states = torch.as_tensor(states, dtype=torch.float64)
    if states.ndim != 2 or len(states) < 2:
        raise ValueError(f"states must be (rows >= 2, hidden), got shape {tuple(states.shape)}")
    return states


def fit_leace(states: np.ndarray | torch.Tensor, labels: np.ndarray) -> Eraser:
    """The LEACE eraser of the concept ``labels`` (N,) (any values; one class per distinct value)
    from states (N, H). Its rank is the number of classes - 1 (1 for a binary hypothesis), less
    where the states do not vary with the concept at all."""
    x = _as_float64(states)
    labels = np.asarray(labels)
    if labels.shape != (len(x),):
        raise ValueError(f"labels must be ({len(x)},), one per row of states, got shape {labels.shape}")
    _, codes = np.unique(labels, return_inverse=True)
    one_hot = nn.functional.one_hot(torch.from_numpy(codes.astype(np.int64))).to(torch.float64)
    mean, whiten, unwhiten = _whitening(x)
    cross_covariance = (x - mean).T @ (one_hot - one_hot.mean(0)) / (len(x) - 1)
    basis, singular_values, _ = torch.linalg.svd(whiten @ cross_covariance, full_matrices=False)
    # The one-hot columns sum to 1, so at most classes - 1 directions carry the concept.
    basis = basis[:, singular_values > RELATIVE_TOLERANCE * singular_values[0]]
    return Eraser(mean, unwhiten @ basis, whiten @ basis)


def random_eraser(states: np.ndarray | torch.Tensor, rank: int, generator: torch.Generator) -> Eraser:
    """The control: LEACE's form with ``rank`` uniformly random orthonormal directions of the
    whitened states in place of the concept's, so it removes as much whitened variance."""
    x = _as_float64(states)
    mean, whiten, unwhiten = _whitening(x)
    gaussian = torch.randn(x.shape[1], rank, dtype=torch.float64, generator=generator)
    basis, _ = torch.linalg.qr(gaussian)
    return Eraser(mean, unwhiten @ basis, whiten @ basis)


CELL_OF_FUSED = {nn.LSTM: nn.LSTMCell, nn.GRU: nn.GRUCell, nn.RNN: nn.RNNCell}


class ErasedLayer(nn.Module):
    """A single-layer fused module (:func:`rnnscope.extract.layer_modules`) stepped one token at a
    time, with ``eraser`` applied to h after every step; called like the fused module on
    batch-first inputs, and returning the erased h as its outputs. The zero initial state is
    not erased (the model never produced it)."""

    def __init__(self, fused: nn.Module, eraser: Eraser) -> None:
        super().__init__()
        kwargs = {"nonlinearity": fused.nonlinearity} if isinstance(fused, nn.RNN) else {}
        cell = CELL_OF_FUSED[type(fused)](fused.input_size, fused.hidden_size, device="meta", **kwargs)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        cell.load_state_dict({name: fused.get_parameter(f"{name}_l0") for name in names}, assign=True)
        self.cell = cell.eval()
        self.eraser = eraser

    def forward(
        self, inputs: torch.Tensor, state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        streams, steps, _ = inputs.shape
        lstm = isinstance(self.cell, nn.LSTMCell)
        h = c = inputs.new_zeros(streams, self.cell.hidden_size)
        # The fused layout: (num_layers=1, streams, hidden), or None for the zero state.
        if isinstance(state, tuple):
            h, c = state[0][0], state[1][0]
        elif state is not None:
            h = state[0]
        erase = self.eraser.like(inputs)
        outputs = inputs.new_empty(streams, steps, self.cell.hidden_size)
        for step in range(steps):
            if lstm:
                h, c = self.cell(inputs[:, step], (h, c))
            else:
                h = self.cell(inputs[:, step], h)
            h = erase(h)
            outputs[:, step] = h
        return outputs, ((h[None], c[None]) if lstm else h[None])


@torch.no_grad()
def run_erased(
    model: RNNModel, ids: np.ndarray, layer: int, eraser: Eraser, streams: int = 1
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """:func:`rnnscope.neurons.run_states` (h only) with ``eraser`` applied to layer ``layer``'s h
    at every step: every layer's h ``l{layer}_h`` (T, hidden), the erased layer's as erased, and
    log p(ids[t + 1] | ids[..t]) (NaN where t ends a stream), for the loss on all tokens and on
    the tokens where the hypothesis matters."""
    if not 0 <= layer < model.config.layers:
        raise ValueError(f"cannot erase layer {layer}: the model has {model.config.layers} layers")
    modules: list[nn.Module] = list(layer_modules(model))
    modules[layer] = ErasedLayer(modules[layer], eraser)
    return run_states(model, ids, ["h"], streams=streams, modules=modules)


def erasure_damage(eraser: Eraser, states: np.ndarray | torch.Tensor) -> float:
    """Mean squared distance E ||x - erase(x)||^2 over states (N, H): what LEACE minimises."""
    x = _as_float64(states)
    return float(((x - eraser(x)) ** 2).sum(1).mean())


@dataclass(frozen=True)
class ErasureSettings:
    """How the erased states are probed, on how much text, and the controls (config ``erasure``)."""

    enabled: bool
    weighting: str
    C: float
    fit_tokens: int
    max_tokens: int
    random_repeats: int
    seed: int
    bootstrap: int
    block: int

    def __post_init__(self) -> None:
        check_settings("erasure", self)


ERASURE_COLUMNS = [
    *["model", "hypothesis", "layer", "kind", "eraser", "repeat", "rank", "weighting", "damage"],
    *["n_fit", "n_chars", "n_true", "majority_accuracy"],
    *["refit_accuracy_before", "refit_accuracy_after", "refit_f1_before", "refit_f1_after"],
    *["refit_mcc_before", "refit_mcc_after"],
    *["loss_true_before", "loss_true_after", "loss_true_change", "loss_true_change_ci_low", "loss_true_change_ci_high"],
    *["loss_all_before", "loss_all_after", "loss_all_change", "loss_all_change_ci_low", "loss_all_change_ci_high"],
    "status",
]


def block_bootstrap_mean(
    values: np.ndarray, rows: np.ndarray, block: int, resamples: int, rng: np.random.Generator
) -> tuple[float, float, float]:
    """Mean of ``values[rows]`` (NaNs left out) and its 95 % percentile interval from ``resamples``
    resamples of the text's consecutive ``block``-character blocks: a character's loss change is
    correlated with its neighbours', so resampling characters alone would give too narrow an
    interval. NaN bounds when ``resamples`` is 0 or no row has a value."""
    rows = rows[~np.isnan(values[rows])]
    if not len(rows):
        return float("nan"), float("nan"), float("nan")
    mean = float(values[rows].mean())
    if resamples == 0:
        return mean, float("nan"), float("nan")
    _, block_of_row = np.unique(rows // block, return_inverse=True)
    sums = np.bincount(block_of_row, weights=values[rows])
    counts = np.bincount(block_of_row).astype(np.float64)
    draws = rng.integers(0, len(sums), size=(resamples, len(sums)))
    means = sums[draws].sum(1) / counts[draws].sum(1)
    low, high = np.quantile(means, [0.025, 0.975])
    return mean, float(low), float(high)


def _seeded_generator(*seeds: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence(list(seeds)).generate_state(1)[0]))


def erasure_rows(
    model: RNNModel,
    fit_ids: np.ndarray,
    fit_labels: np.ndarray,
    test_ids: np.ndarray,
    test_labels: np.ndarray,
    layers: Sequence[int],
    settings: ErasureSettings,
    base: dict[str, object],
    warmup_tokens: int = 0,
) -> list[dict[str, object]]:
    """For each of ``layers`` (h): LEACE fitted on the fit text's states, and
    ``random_repeats`` random erasers of the same rank, each applied inside the forward pass
    over the fit text and the test text. One row per eraser: a probe refitted on the erased
    fit-text states, scored on the erased test-text states (beside one fitted and scored before
    erasing); the next-character loss on the test characters where the hypothesis is true and
    on all, with block-bootstrap intervals of the change. The first ``warmup_tokens``
    characters of each text are left out, as the probes leave them out."""
    warmup = warmup_tokens
    probe_settings = intervention_probe_settings(settings.C, settings.weighting, settings.seed, warmup_tokens)
    fit_rows, test_rows = np.arange(warmup, len(fit_ids)), np.arange(warmup, len(test_ids))
    y_fit, y_test = fit_labels[fit_rows], test_labels[test_rows]
    true_rows = test_rows[y_test]
    majority = bool(y_fit.mean() >= 0.5)
    common = base | {
        "kind": "h",
        "weighting": settings.weighting,
        "n_fit": len(fit_rows),
        "n_chars": len(test_rows),
        "n_true": int(y_test.sum()),
        "majority_accuracy": float((y_test == majority).mean()),
    }
    if y_fit.all() or not y_fit.any():
        reason = f"skipped: the hypothesis is {'always' if y_fit.all() else 'never'} true in the fit text"
        return [common | {"layer": layer, "status": reason} for layer in layers]
    fit_states, _ = run_states(model, fit_ids, ["h"])
    test_states, test_log_prob = run_states(model, test_ids, ["h"])
    rows: list[dict[str, object]] = []
    for layer in layers:
        column = state_column(layer, "h")
        x_fit, x_test = fit_states[column][fit_rows], test_states[column][test_rows]
        refit_before = fit_probe(x_fit, y_fit, x_test, y_test, "binary", settings.weighting, probe_settings)
        leace = fit_leace(x_fit, y_fit)
        generator = _seeded_generator(settings.seed, layer)
        erasers = [("leace", 0, leace)] + [
            ("random", repeat, random_eraser(x_fit, leace.rank, generator)) for repeat in range(settings.random_repeats)
        ]
        for name, repeat, eraser in erasers:
            erased_fit, _ = run_erased(model, fit_ids, layer, eraser)
            erased_test, erased_log_prob = run_erased(model, test_ids, layer, eraser)
            x_fit_after, x_test_after = erased_fit[column][fit_rows], erased_test[column][test_rows]
            refit_after = fit_probe(
                x_fit_after, y_fit, x_test_after, y_test, "binary", settings.weighting, probe_settings
            )
            change = test_log_prob - erased_log_prob  # loss after - loss before, per character
            rng = np.random.default_rng([settings.seed, layer, repeat])
            loss: dict[str, float] = {}
            for scope, scored in (("true", true_rows), ("all", test_rows)):
                mean, low, high = block_bootstrap_mean(change, scored, settings.block, settings.bootstrap, rng)
                loss |= {
                    f"loss_{scope}_before": float(np.nanmean(-test_log_prob[scored])),
                    f"loss_{scope}_after": float(np.nanmean(-erased_log_prob[scored])),
                    f"loss_{scope}_change": mean,
                    f"loss_{scope}_change_ci_low": low,
                    f"loss_{scope}_change_ci_high": high,
                }
            rows.append(
                common
                | loss
                | {
                    "layer": layer,
                    "eraser": name,
                    "repeat": repeat,
                    "rank": eraser.rank,
                    "damage": erasure_damage(eraser, x_fit),
                    "refit_accuracy_before": refit_before.metrics["accuracy"],
                    "refit_accuracy_after": refit_after.metrics["accuracy"],
                    "refit_f1_before": refit_before.metrics["f1"],
                    "refit_f1_after": refit_after.metrics["f1"],
                    "refit_mcc_before": refit_before.metrics["mcc"],
                    "refit_mcc_after": refit_after.metrics["mcc"],
                    "status": "ok",
                }
            )
        leace_row = rows[-1 - settings.random_repeats]
        log.info(
            "%s %s: refit accuracy %.3f -> %.3f (majority %.3f), loss on true %.3f -> %.3f nats",
            column,
            base["hypothesis"],
            leace_row["refit_accuracy_before"],
            leace_row["refit_accuracy_after"],
            common["majority_accuracy"],
            leace_row["loss_true_before"],
            leace_row["loss_true_after"],
        )
    return rows


def plot_erasure(table: pd.DataFrame, title: str, png_path: str | Path) -> None:
    """Per layer: the refitted probe's accuracy before and after erasing (LEACE, random draws)
    against the majority rate, and the loss change on the hypothesis's characters with its interval."""
    figure, (accuracy_axes, loss_axes) = plt.subplots(1, 2, figsize=(9, 3.4))
    done = table[table["status"] == "ok"]
    if done.empty:
        accuracy_axes.text(0.0, 0.5, "; ".join(sorted(set(table["status"]))), fontsize=8, wrap=True)
    leace, random = done[done["eraser"] == "leace"], done[done["eraser"] == "random"]
    layers = leace["layer"].to_numpy()
    accuracy_axes.plot(layers, leace["refit_accuracy_before"], "o-", color="black", label="before")
    accuracy_axes.plot(layers, leace["refit_accuracy_after"], "o-", color="tab:red", label="after LEACE")
    accuracy_axes.plot(
        random["layer"], random["refit_accuracy_after"], "x", color="tab:grey", label="after random (each draw)"
    )
    accuracy_axes.plot(layers, leace["majority_accuracy"], "--", color="tab:blue", label="majority rate")
    accuracy_axes.set(xlabel="layer (h)", ylabel="refitted probe accuracy (test)", xticks=layers)
    accuracy_axes.legend(fontsize=7)
    errors = np.vstack(
        [
            leace["loss_true_change"] - leace["loss_true_change_ci_low"],
            leace["loss_true_change_ci_high"] - leace["loss_true_change"],
        ]
    )
    loss_axes.errorbar(
        layers,
        leace["loss_true_change"],
        yerr=errors,
        fmt="o-",
        color="tab:red",
        capsize=3,
        label="LEACE (95 % interval)",
    )
    loss_axes.plot(random["layer"], random["loss_true_change"], "x", color="tab:grey", label="random (each draw)")
    loss_axes.axhline(0.0, color="black", linewidth=0.8)
    loss_axes.set(xlabel="layer (h)", ylabel="loss change on true characters (nats)", xticks=layers)
    loss_axes.legend(fontsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    save_figure(figure, png_path, svg=False)


def analyse_erasure(
    checkpoint: str | Path,
    vocab_path: str | Path,
    fit_text_path: str | Path,
    fit_labels_path: str | Path,
    test_text_path: str | Path,
    test_labels_path: str | Path,
    hypothesis: str,
    settings: ErasureSettings,
    erasure_csv: str | Path,
    png_path: str | Path,
    model_name: str,
    threads: int = 1,
    warmup_tokens: int = 0,
) -> pd.DataFrame:
    """Erase ``hypothesis`` from every layer's h of a model (:func:`erasure_rows`): fitted on the
    train split's first ``fit_tokens`` characters, scored on the test split's first
    ``max_tokens``. Writes ``erasure_csv`` and its plot ``png_path``."""
    torch.set_num_threads(threads)
    model, _ = load_model(checkpoint)
    fit_ids, fit_labels, test_ids, test_labels = fit_and_test_characters(
        vocab_path,
        (fit_text_path, fit_labels_path, settings.fit_tokens),
        (test_text_path, test_labels_path, settings.max_tokens),
        hypothesis,
        "erasure",
        warmup_tokens,
    )
    base: dict[str, object] = {"model": model_name, "hypothesis": hypothesis}
    layers = range(model.config.layers)
    rows = erasure_rows(model, fit_ids, fit_labels, test_ids, test_labels, layers, settings, base, warmup_tokens)
    table = pd.DataFrame(rows, columns=ERASURE_COLUMNS)
    plot_erasure(table, f"{model_name}: erasing {hypothesis} from h (fit: train split, scored: test split)", png_path)
    write_atomically(erasure_csv, lambda partial: table.to_csv(partial, index=False))
    return table


def erasure_table(
    paths: Sequence[str | Path], csv_path: str | Path, settings: dict, warmup_tokens: int
) -> pd.DataFrame:
    """results/tables/erasure.csv: every model's and hypothesis's erasures."""
    table = pd.concat([pd.read_csv(path) for path in paths], ignore_index=True)
    write_table(
        table,
        csv_path,
        "Concept erasure as a causal test (LEACE, Belrose et al. 2023): for each binary hypothesis "
        "and layer, an eraser fitted on that layer's h over the train split's first n_fit characters "
        "(after probe.warmup_tokens) is applied to h after every step of the forward pass, so the "
        "erasure propagates through the recurrence; eraser = leace, or random = a random direction "
        "of the same whitened space and rank (control; repeat = draw); damage = mean squared "
        "distance it moves the fit states. Scored on the test split's first n_chars characters "
        "(after the warmup): refit_*_after = a logistic probe (standardised, Newton, C and weighting "
        "of config erasure) refitted on the erased fit-text states (amnesic probing: "
        "is the concept still linearly decodable after the erasure propagates?), refit_*_before = the "
        "same probe fitted and scored without erasing, beside majority_accuracy; loss_* = next-character cross entropy in nats on the characters where "
        "the hypothesis is true (true) and on all (all), before and after; *_change_ci_* = 95 % "
        f"interval from block-bootstrap resamples of the characters. Config erasure: {settings}; "
        f"probe.warmup_tokens: {warmup_tokens}.",
    )
    return table
