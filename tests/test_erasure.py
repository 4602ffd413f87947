"""LEACE erasure (rnnscope.erasure): the concept is gone for a fresh linear probe, LEACE moves the
states least among erasers that remove it, and the stepped forward pass with an eraser equals
the fused one when the eraser is the identity and propagates the erasure when it is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from rnnscope.erasure import (
    ERASURE_COLUMNS,
    ErasedLayer,
    Eraser,
    ErasureSettings,
    block_bootstrap_mean,
    erasure_damage,
    erasure_rows,
    fit_leace,
    random_eraser,
    run_erased,
)
from rnnscope.extract import layer_modules, stream_states
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.neurons import run_states


def planted_concept(rows: int = 4000, hidden: int = 16, rate: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Correlated Gaussian states (rows, hidden) shifted along one random direction where a
    binary concept (a fraction ``rate`` of rows) is true."""
    rng = np.random.default_rng(0)
    concept = rng.random(rows) < rate
    mixing = rng.normal(size=(hidden, hidden)) * np.logspace(-1, 0.5, hidden)
    states = rng.normal(size=(rows, hidden)) @ mixing + 2.0 * concept[:, None] * rng.normal(size=hidden)
    return states, concept


def probe_accuracy(states: np.ndarray | torch.Tensor, concept: np.ndarray) -> float:
    """In-sample accuracy of a fresh logistic probe (the best a linear reader can do on these rows)."""
    probe = LogisticRegression(C=1e4, max_iter=10000).fit(np.asarray(states), concept)
    return float(probe.score(np.asarray(states), concept))


def cross_covariance(states: torch.Tensor, concept: np.ndarray) -> torch.Tensor:
    z = torch.from_numpy(concept.astype(np.float64))
    return (states - states.mean(0)).T @ (z - z.mean()) / (len(z) - 1)


def identity(hidden: int) -> Eraser:
    return Eraser(torch.zeros(hidden), torch.zeros(hidden, 0), torch.zeros(hidden, 0))


def test_leace_leaves_a_fresh_probe_at_the_majority_rate() -> None:
    states, concept = planted_concept()
    majority = max(concept.mean(), 1 - concept.mean())
    assert probe_accuracy(states, concept) > 0.97
    eraser = fit_leace(states, concept)
    erased = eraser(torch.from_numpy(states))
    assert eraser.rank == 1
    assert cross_covariance(erased, concept).abs().max() < 1e-10
    assert probe_accuracy(erased, concept) == pytest.approx(majority, abs=0.01)
    # The mean is kept, and so is everything the concept does not touch: states unrelated to
    # it come through a rank-1 edit, not a collapse.
    torch.testing.assert_close(erased.mean(0), torch.from_numpy(states.mean(0)))
    assert torch.linalg.matrix_rank(erased - erased.mean(0)) == states.shape[1] - 1


def test_leace_rank_is_classes_minus_one() -> None:
    states, concept = planted_concept()
    three_classes = concept.astype(int) + (states[:, 0] > 0)
    assert fit_leace(states, three_classes).rank == 2
    assert fit_leace(states, np.zeros(len(states))).rank == 0  # no concept, nothing to erase


def test_leace_moves_the_states_least_among_erasers_that_remove_the_concept() -> None:
    """A rank-1 affine eraser that zeroes the cross-covariance sigma is x - sigma b.(x - mean) / b.sigma
    for some direction b; LEACE's b is Sigma^-1 sigma, optimal in every inner-product norm.
    Random b (and the orthogonal projection, b = sigma) erase too, at a larger cost."""
    states, concept = planted_concept()
    x = torch.from_numpy(states)
    leace = fit_leace(states, concept)
    sigma = cross_covariance(x, concept)
    generator = torch.Generator().manual_seed(0)
    metric_root = torch.randn(x.shape[1], x.shape[1], dtype=torch.float64, generator=generator)
    directions = [sigma, *torch.randn(20, x.shape[1], dtype=torch.float64, generator=generator)]
    for direction in directions:
        other = Eraser(leace.mean, (sigma / (direction @ sigma))[:, None], direction[:, None])
        assert cross_covariance(other(x), concept).abs().max() < 1e-10
        assert erasure_damage(other, x) > erasure_damage(leace, x)
        # The same in the norm ||v||_M with M = R^T R: the displacements mapped by R.
        other_damage, leace_damage = (((x - e(x)) @ metric_root.T).square().sum(1).mean() for e in (other, leace))
        assert other_damage > leace_damage


def test_random_control_removes_as_much_whitened_variance_but_keeps_the_concept() -> None:
    states, concept = planted_concept()
    x = torch.from_numpy(states)
    centred = x - x.mean(0)
    whiten = torch.linalg.inv(torch.linalg.cholesky(centred.T @ centred / (len(x) - 1)))
    leace = fit_leace(states, concept)
    control = random_eraser(states, leace.rank, torch.Generator().manual_seed(0))
    assert control.rank == 1
    for eraser in (leace, control):
        # One unit of whitened variance (one whitened direction) removed by each.
        removed = ((x - eraser(x)) @ whiten.T).square().sum() / (len(x) - 1)
        assert removed == pytest.approx(1.0, rel=1e-9)
    assert probe_accuracy(control(x), concept) > 0.95


def tiny_model(cell: str, layers: int) -> RNNModel:
    torch.manual_seed(0)
    embedding = 0 if cell == "srn" else 5
    return RNNModel(ModelConfig(cell=cell, vocab_size=7, hidden=6, layers=layers, embedding=embedding)).eval()


TOKENS = np.random.default_rng(1).integers(0, 7, size=300)


@pytest.mark.parametrize(
    "cell, layers",
    [("lstm", 1), ("lstm", 2), ("gru", 1), ("gru", 2), ("rnn_tanh", 2), ("srn", 1)],
)
@pytest.mark.parametrize("streams", [1, 3])
def test_identity_eraser_stepped_forward_equals_the_fused_one(cell: str, layers: int, streams: int) -> None:
    model = tiny_model(cell, layers)
    fused_states, fused_log_prob = run_states(model, TOKENS, ["h"], streams=streams)
    for layer in range(layers):
        states, log_prob = run_erased(model, TOKENS, layer, identity(model.config.hidden), streams=streams)
        for column, values in fused_states.items():
            np.testing.assert_allclose(states[column], values, atol=1e-5, rtol=0, err_msg=column)
        np.testing.assert_allclose(log_prob, fused_log_prob, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_erased_layer_carries_its_state_across_chunks_as_the_fused_layer_does(cell: str) -> None:
    model = tiny_model(cell, 2)
    tokens = torch.from_numpy(TOKENS).view(2, -1)
    fused = layer_modules(model)
    stepped = [fused[0], ErasedLayer(fused[1], identity(model.config.hidden))]
    whole, _ = stream_states(model, fused, tokens, [None, None], ["h"])
    state: list = [None, None]
    chunks = [stream_states(model, stepped, part, state, ["h"])[0] for part in tokens.split([40, 110], dim=1)]
    for column, values in whole.items():
        torch.testing.assert_close(torch.cat([chunk[column] for chunk in chunks], dim=1), values, atol=1e-5, rtol=0)


def erased_run_of_a_concept(model: RNNModel, layer: int) -> tuple[Eraser, dict[str, np.ndarray], np.ndarray]:
    """LEACE of 'the current token is 0 or 1' fitted on the layer's fused states, and the run erasing it."""
    states, _ = run_states(model, TOKENS, ["h"])
    eraser = fit_leace(states[f"l{layer}_h"], TOKENS < 2)
    return eraser, *run_erased(model, TOKENS, layer, eraser)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_erasure_propagates_through_the_recurrence_and_downstream(cell: str) -> None:
    model = tiny_model(cell, 2)
    fused_states, fused_log_prob = run_states(model, TOKENS, ["h"])
    eraser, states, log_prob = erased_run_of_a_concept(model, 0)
    erased = torch.from_numpy(states["l0_h"]).double()
    # Every recorded h of the erased layer is erased (it lies in the eraser's fixed hyperplane)...
    assert ((erased - eraser.mean) @ eraser.right).abs().max() < 1e-5
    # ...and it is not the fused h erased afterwards: from step 1 on the layer read erased h.
    after_the_fact = eraser(torch.from_numpy(fused_states["l0_h"]).double())
    torch.testing.assert_close(erased[0], after_the_fact[0], atol=1e-5, rtol=0)
    assert (erased[1:] - after_the_fact[1:]).abs().max() > 1e-2
    # The next layer and the predictions change.
    assert np.abs(states["l1_h"] - fused_states["l1_h"]).max() > 1e-2
    assert np.nanmax(np.abs(log_prob - fused_log_prob)) > 1e-3


@pytest.mark.parametrize("cell, layers", [("gru", 1), ("lstm", 2)])
def test_erasing_the_top_layer_leaves_a_refitted_probe_at_the_majority_rate(cell: str, layers: int) -> None:
    """The eraser is fitted on the unerased run, whose states the erasure then changes, so a probe
    refitted on the erased run could in general find a trace again; on these models it finds none."""
    model = tiny_model(cell, layers)
    top = f"l{layers - 1}_h"
    _, states, _ = erased_run_of_a_concept(model, layers - 1)
    fused_states, _ = run_states(model, TOKENS, ["h"])
    concept = TOKENS < 2
    majority = max(concept.mean(), 1 - concept.mean())
    assert probe_accuracy(fused_states[top], concept) > majority + 0.03
    assert probe_accuracy(states[top], concept) == pytest.approx(majority, abs=0.01)


def test_bad_layer_and_kinds_are_errors() -> None:
    model = tiny_model("gru", 1)
    with pytest.raises(ValueError, match="cannot erase layer 1"):
        run_erased(model, TOKENS, 1, identity(model.config.hidden))
    with pytest.raises(ValueError, match="records h only"):
        run_states(model, TOKENS, ["h", "r"], modules=[])


def test_block_bootstrap_mean_and_interval_by_hand() -> None:
    values = np.array([1.0, 3.0, np.nan, 5.0, 7.0, 9.0])
    rows = np.arange(6)
    rng = np.random.default_rng(0)
    # One block: every resample is the whole text, so the interval is the mean itself.
    assert block_bootstrap_mean(values, rows, 6, 50, rng) == (5.0, 5.0, 5.0)
    # Blocks {1, 3}, {5}, {7, 9} (the NaN left out): resampled means lie between the smallest and
    # the largest block mean, and a row subset is averaged alone.
    mean, low, high = block_bootstrap_mean(values, rows, 2, 2000, rng)
    assert mean == 5.0 and 2.0 <= low < mean < high <= 8.0
    assert block_bootstrap_mean(values, np.array([0, 1]), 2, 0, rng)[0] == 2.0
    assert np.isnan(block_bootstrap_mean(values, np.array([0, 1]), 2, 0, rng)[1])
    assert np.isnan(block_bootstrap_mean(values, np.array([2]), 2, 10, rng)[0])


ERASURE_SETTINGS = ErasureSettings(
    enabled=True,
    weighting="plain",
    C=1.0,
    fit_tokens=300,
    max_tokens=300,
    random_repeats=2,
    seed=0,
    bootstrap=100,
    block=20,
)


def test_erasure_rows_score_leace_against_random_erasers_on_every_layer() -> None:
    model = tiny_model("lstm", 2)
    fit_tokens, test_tokens = TOKENS, np.random.default_rng(2).integers(0, 7, size=300)
    rows = erasure_rows(
        model,
        fit_tokens,
        fit_tokens < 2,
        test_tokens,
        test_tokens < 2,
        [0, 1],
        ERASURE_SETTINGS,
        {"model": "tiny", "hypothesis": "low"},
        warmup_tokens=5,
    )
    table = pd.DataFrame(rows, columns=ERASURE_COLUMNS)
    assert table[["layer", "eraser", "repeat"]].values.tolist() == [
        [layer, eraser, repeat] for layer in (0, 1) for eraser, repeat in (("leace", 0), ("random", 0), ("random", 1))
    ]
    assert (table["status"] == "ok").all() and (table["rank"] == 1).all()
    assert (table["n_chars"] == 295).all() and table["n_true"].iloc[0] == (test_tokens[5:] < 2).sum()
    # The change is after - before, inside its interval.
    np.testing.assert_allclose(table["loss_all_change"], table["loss_all_after"] - table["loss_all_before"], atol=1e-6)
    assert (table["loss_true_change_ci_low"] <= table["loss_true_change"]).all()
    assert (table["loss_true_change"] <= table["loss_true_change_ci_high"]).all()
    # The tokens are read straight into layer 0: the concept is decodable before; erasing it with
    # LEACE costs the next-token loss on its tokens more than a random direction does.
    leace = table[table["eraser"] == "leace"].set_index("layer")
    random = table[table["eraser"] == "random"].groupby("layer")
    assert leace.loc[0, "refit_accuracy_before"] > leace.loc[0, "majority_accuracy"] + 0.1
    assert leace.loc[0, "refit_accuracy_after"] < leace.loc[0, "refit_accuracy_before"]
    assert (leace["refit_accuracy_after"] < random["refit_accuracy_after"].min()).all()


def test_erasure_rows_skip_a_hypothesis_never_true_in_the_fit_text() -> None:
    model = tiny_model("gru", 1)
    never = np.zeros(len(TOKENS), dtype=bool)
    rows = erasure_rows(
        model,
        TOKENS,
        never,
        TOKENS,
        TOKENS < 2,
        [0],
        ERASURE_SETTINGS,
        {"model": "tiny", "hypothesis": "none"},
        warmup_tokens=5,
    )
    assert [row["status"] for row in rows] == ["skipped: the hypothesis is never true in the fit text"]
