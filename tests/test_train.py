"""Models and language-model training: configs, metrics, determinism, resume, restarts."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import rnnscope.train
from rnnscope.data import prepare_dataset
from rnnscope.models import ModelConfig, RNNModel, load_model
from rnnscope.schema import section_keys
from rnnscope.text import encode, load_vocab
from rnnscope.train import TrainSettings, train_language_model

MODEL = {"cell": "gru", "hidden": 8}
SETTINGS = TrainSettings(epochs=2, batch_size=4, seq_len=20, lr=0.05, seed=0, eval_batch_size=2)
TIMING_KEYS = ("train_seconds", "train_tokens_per_second")


# ---------------------------------------------------------------- ModelConfig / RNNModel


def test_unknown_cell_lists_allowed_cells() -> None:
    with pytest.raises(
        ValueError,
        match=r"config key models\.<name>\.model\.cell: 'transformer' is not one of \['srn', 'rnn_tanh', 'gru', 'lstm'\]",
    ):
        ModelConfig(cell="transformer", vocab_size=3, hidden=4)


@pytest.mark.parametrize("overrides", [{"layers": 2}, {"embedding": 4}])
def test_srn_is_single_layer_one_hot(overrides: dict) -> None:
    with pytest.raises(ValueError, match="Elman SRN has one layer and one-hot inputs"):
        ModelConfig(cell="srn", vocab_size=3, hidden=4, **overrides)


def test_non_positive_sizes_rejected() -> None:
    with pytest.raises(ValueError, match=r"config key models\.<name>\.model\.hidden: 0 is less than the minimum of 1"):
        ModelConfig(cell="gru", vocab_size=3, hidden=0)
    with pytest.raises(ValueError, match="vocab_size must be >= 1, got 0"):  # from the data, not in the schema
        ModelConfig(cell="gru", vocab_size=0, hidden=4)


@pytest.mark.parametrize("cell", section_keys("models.<name>.model")["cell"]["enum"])
def test_forward_shapes(cell: str) -> None:
    layers = 1 if cell == "srn" else 2
    embedding = 0 if cell == "srn" else 3
    torch.manual_seed(0)
    model = RNNModel(ModelConfig(cell=cell, vocab_size=5, hidden=6, layers=layers, embedding=embedding)).eval()
    tokens = torch.tensor([[0, 1, 2, 3, 4, 0, 1], [4, 3, 2, 1, 0, 4, 3]])
    logits, hidden = model(tokens)
    assert logits.shape == (2, 7, 5)
    states = hidden if cell == "lstm" else (hidden,)
    assert all(state.shape == (layers, 2, 6) for state in states)
    # Carrying the state across a split of the sequence gives the same logits as one pass.
    first, carried = model(tokens[:, :3])
    second, _ = model(tokens[:, 3:], carried)
    torch.testing.assert_close(torch.cat([first, second], dim=1), logits)
    initial = model.init_hidden(2)
    assert all(torch.equal(state, torch.zeros(layers, 2, 6)) for state in (initial if cell == "lstm" else (initial,)))


def test_one_hot_input_and_init_range() -> None:
    model = RNNModel(ModelConfig(cell="srn", vocab_size=3, hidden=4, init_range=0.1))
    assert torch.equal(model.embed(torch.tensor([[2, 0]])), torch.tensor([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]]))
    assert model.rnn.input_size == 3
    assert max(parameter.abs().max().item() for parameter in model.parameters()) <= 0.1


@pytest.mark.parametrize("embedding", [0, 4])
def test_dropout_never_erases_one_hot_inputs(embedding: int) -> None:
    """Seed 003 / char-rnn drop no input characters; an embedding keeps Zaremba-style dropout."""
    torch.manual_seed(0)
    model = RNNModel(
        ModelConfig(cell="gru", vocab_size=5, hidden=6, layers=2, embedding=embedding, dropout=0.5)
    ).train()
    seen: list[torch.Tensor] = []
    model.rnn.register_forward_hook(lambda module, args, output: seen.append(args[0]))
    tokens = torch.randint(0, 5, (8, 50))
    model(tokens)
    clean = model.embed(tokens)
    if embedding == 0:
        assert torch.equal(seen[0], clean)
    else:
        zeroed = (seen[0] == 0) & (clean != 0)
        assert 0.3 < zeroed.float().mean().item() < 0.7
        torch.testing.assert_close(seen[0][~zeroed], 2 * clean[~zeroed])


# ---------------------------------------------------------------- training


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dataset")
    corpus = root / "corpus.txt"
    corpus.write_text("abcd\n" * 120, encoding="utf-8")  # 600 characters: train 480, valid 60, test 60
    prepare_dataset({"kind": "text", "split": [0.8, 0.1, 0.1]}, [str(corpus)], root / "data")
    return root / "data"


def train(data_dir: Path, out: Path, settings: TrainSettings = SETTINGS, model: dict = MODEL) -> dict:
    return train_language_model(
        data_dir, model, settings, out / "model.pt", out / "metrics.json", out / "history.csv", model_name="tiny"
    )


def without_timing(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if key not in TIMING_KEYS}


def assert_same_weights(first: Path, second: Path) -> None:
    a = torch.load(first, weights_only=True)["state_dict"]
    b = torch.load(second, weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[name], b[name]) for name in a)


def fail_on_call(monkeypatch: pytest.MonkeyPatch, failing_call: int) -> None:
    """Make ``evaluate`` raise on its ``failing_call``-th call, simulating a kill mid-training."""
    original = rnnscope.train.evaluate
    calls = 0

    def evaluate(*args: object, **kwargs: object) -> float:
        nonlocal calls
        calls += 1
        if calls == failing_call:
            raise RuntimeError("simulated kill")
        return original(*args, **kwargs)

    monkeypatch.setattr(rnnscope.train, "evaluate", evaluate)


def count_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count ``evaluate`` calls: one per trained epoch plus three for the final metrics."""
    original = rnnscope.train.evaluate
    counter = [0]

    def evaluate(*args: object, **kwargs: object) -> float:
        counter[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(rnnscope.train, "evaluate", evaluate)
    return counter


@pytest.fixture(scope="module")
def baseline(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """An uninterrupted run with SETTINGS."""
    out = tmp_path_factory.mktemp("baseline")
    return out, train(data_dir, out)


def test_training_learns_and_writes_metrics(data_dir: Path, baseline: tuple[Path, dict]) -> None:
    out, metrics = baseline
    assert json.loads((out / "metrics.json").read_text()) == metrics
    vocab_size = len(load_vocab(data_dir / "vocab.json"))
    assert vocab_size == 5
    assert metrics["splits"]["valid"]["loss_nats"] < 0.3 * math.log(vocab_size)  # uniform guessing is ln 5
    for split in ("train", "valid", "test"):
        values = metrics["splits"][split]
        assert values["ppl"] == pytest.approx(math.exp(values["loss_nats"]), rel=1e-12)
        assert values["bpc"] == pytest.approx(values["loss_nats"] / math.log(2), rel=1e-12)
    assert [metrics["splits"][split]["tokens"] for split in ("train", "valid", "test")] == [480, 60, 60]
    # 480 tokens in 4 rows of 120: ceil(119 / 20) = 6 steps per epoch.
    assert (metrics["steps"], metrics["epochs"], metrics["restart"], metrics["seed"]) == (12, 2, 0, 0)
    assert metrics["parameters"] == 3 * (5 * 8 + 8 * 8 + 2 * 8) + 8 * 5 + 5
    history = pd.read_csv(out / "history.csv")
    assert list(history.columns) == ["restart", "epoch", "step", "lr", "train_loss_nats", "valid_loss_nats"]
    assert history["epoch"].tolist() == [1, 2] and history["step"].tolist() == [6, 12]
    assert history["restart"].tolist() == [0, 0]
    assert history["valid_loss_nats"].iloc[-1] == pytest.approx(metrics["splits"]["valid"]["loss_nats"], rel=1e-12)
    assert history["train_loss_nats"].iloc[1] < history["train_loss_nats"].iloc[0]
    assert not (out / "resume.pt").exists()


def test_metrics_match_a_direct_forward_pass(data_dir: Path, baseline: tuple[Path, dict]) -> None:
    """The chunked evaluation (state carried across windows) equals one pass over each of the eval rows."""
    out, metrics = baseline
    model, _ = load_model(out / "model.pt")
    vocab = load_vocab(data_dir / "vocab.json")
    ids = torch.tensor(encode((data_dir / "test.txt").read_text(encoding="utf-8"), vocab))
    halves = ids[: len(ids) // 2 * 2].view(2, -1)  # eval_batch_size 2: two contiguous rows
    with torch.no_grad():
        logits, _ = model(halves[:, :-1])
    expected = nn.functional.cross_entropy(logits.flatten(0, 1), halves[:, 1:].flatten()).item()
    assert metrics["splits"]["test"]["loss_nats"] == pytest.approx(expected, rel=1e-5)


def test_checkpoint_is_weights_only(baseline: tuple[Path, dict]) -> None:
    out, metrics = baseline
    payload = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    assert payload["model_config"] == {
        "cell": "gru",
        "vocab_size": 5,
        "hidden": 8,
        "layers": 1,
        "embedding": 0,
        "dropout": 0.0,
        "init_range": None,
        "tie_weights": False,
        "classes": 0,
    }
    assert payload["train_settings"]["epochs"] == 2
    assert (payload["step"], payload["epoch"], payload["restart"]) == (12, 2, 0)
    model, loaded = load_model(out / "model.pt")
    assert not model.training
    assert loaded["step"] == 12
    assert all(torch.equal(model.state_dict()[name], tensor) for name, tensor in payload["state_dict"].items())


def test_same_seed_is_deterministic(data_dir: Path, baseline: tuple[Path, dict], tmp_path: Path) -> None:
    out, metrics = baseline
    again = train(data_dir, tmp_path)
    assert without_timing(again) == without_timing(metrics)
    assert_same_weights(out / "model.pt", tmp_path / "model.pt")
    assert (tmp_path / "history.csv").read_text() == (out / "history.csv").read_text()
    other_seed = train(data_dir, tmp_path / "seed1", replace(SETTINGS, seed=1))
    assert other_seed["splits"]["valid"]["loss_nats"] != metrics["splits"]["valid"]["loss_nats"]


def test_resume_after_kill_equals_uninterrupted(
    data_dir: Path, baseline: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, metrics = baseline
    fail_on_call(monkeypatch, 2)  # the valid evaluation of epoch 2, after epoch 1's resume.pt
    with pytest.raises(RuntimeError, match="simulated kill"):
        train(data_dir, tmp_path)
    resume = torch.load(tmp_path / "resume.pt", weights_only=False)
    assert (resume["epoch"], resume["step"], resume["restart"]) == (1, 6, 0)
    assert not (tmp_path / "model.pt").exists() and not (tmp_path / "metrics.json").exists()

    monkeypatch.undo()
    calls = count_calls(monkeypatch)
    resumed = train(data_dir, tmp_path)
    assert calls[0] == 1 + 3  # only epoch 2 was trained again
    assert without_timing(resumed) == without_timing(metrics)
    assert_same_weights(out / "model.pt", tmp_path / "model.pt")
    assert (tmp_path / "history.csv").read_text() == (out / "history.csv").read_text()
    assert not (tmp_path / "resume.pt").exists()


def test_resume_for_other_settings_is_ignored(
    data_dir: Path,
    baseline: tuple[Path, dict],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    out, metrics = baseline
    fail_on_call(monkeypatch, 2)
    with pytest.raises(RuntimeError, match="simulated kill"):
        train(data_dir, tmp_path, replace(SETTINGS, seed=7))
    assert (tmp_path / "resume.pt").exists()

    monkeypatch.undo()
    calls = count_calls(monkeypatch)
    with caplog.at_level(logging.INFO, logger="rnnscope.train"):
        fresh = train(data_dir, tmp_path)
    assert "written for other settings" in caplog.text
    assert calls[0] == 2 + 3  # both epochs trained from scratch
    assert without_timing(fresh) == without_timing(metrics)
    assert_same_weights(out / "model.pt", tmp_path / "model.pt")


def test_restarts_keep_lowest_valid_loss(data_dir: Path, tmp_path: Path) -> None:
    settings = replace(SETTINGS, epochs=1, restarts=2, seed=3)
    metrics = train(data_dir, tmp_path / "both", settings)
    losses = metrics["restarts_valid_loss_nats"]
    assert len(losses) == 2 and losses[0] != losses[1]
    best = int(np.argmin(losses))
    assert metrics["restart"] == best and metrics["seed"] == 3 + best
    assert metrics["splits"]["valid"]["loss_nats"] == pytest.approx(losses[best], rel=1e-12)
    history = pd.read_csv(tmp_path / "both" / "history.csv")
    assert history["restart"].tolist() == [0, 1]
    assert history["valid_loss_nats"].tolist() == pytest.approx(losses, rel=1e-12)
    # Restart r is seeded with seed + r: a single run with that seed trains the same weights.
    single = train(data_dir, tmp_path / "single", replace(settings, restarts=1, seed=3 + best))
    assert single["restarts_valid_loss_nats"] == [losses[best]]
    assert_same_weights(tmp_path / "both" / "model.pt", tmp_path / "single" / "model.pt")


def test_resume_between_restarts(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = replace(SETTINGS, epochs=1, restarts=2)
    uninterrupted = train(data_dir, tmp_path / "whole", settings)
    fail_on_call(monkeypatch, 2)  # restart 1's only epoch, after restart 0 finished
    with pytest.raises(RuntimeError, match="simulated kill"):
        train(data_dir, tmp_path / "killed", settings)
    monkeypatch.undo()
    calls = count_calls(monkeypatch)
    resumed = train(data_dir, tmp_path / "killed", settings)
    assert calls[0] == 1 + 3  # restart 0 was not trained again
    assert without_timing(resumed) == without_timing(uninterrupted)
    assert_same_weights(tmp_path / "whole" / "model.pt", tmp_path / "killed" / "model.pt")


def test_max_steps_caps_training(data_dir: Path, tmp_path: Path) -> None:
    metrics = train(data_dir, tmp_path, replace(SETTINGS, epochs=5, max_steps=8))
    assert (metrics["steps"], metrics["epochs"]) == (8, 2)  # 6 steps in epoch 1, 2 in epoch 2, then stop
    assert pd.read_csv(tmp_path / "history.csv")["step"].tolist() == [6, 8]


def test_split_too_short_for_batch(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the train split has 480 tokens, too short for batch size 300"):
        train(data_dir, tmp_path, replace(SETTINGS, batch_size=300))
    with pytest.raises(ValueError, match="the valid split has 60 tokens, too short for batch size 40"):
        train(data_dir, tmp_path, replace(SETTINGS, epochs=1, eval_batch_size=40))


def test_bad_train_settings() -> None:
    with pytest.raises(
        ValueError, match=r"config key models\.<name>\.train\.optimizer: 'rmsprop' is not one of \['adam', 'sgd'\]"
    ):
        replace(SETTINGS, optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"config key models\.<name>\.train\.epochs: 0 is less than the minimum of 1"):
        replace(SETTINGS, epochs=0)


# ---------------------------------------------------------------- untrained baseline


def test_untrained_checkpoint_is_the_first_restarts_initial_weights(data_dir: Path, tmp_path: Path) -> None:
    shape = {"cell": "lstm", "hidden": 8, "layers": 2, "init_range": 0.08}
    path = write_untrained(data_dir, tmp_path / "a" / "model.pt", shape)
    model, payload = load_model(path)
    vocab = len(load_vocab(data_dir / "vocab.json"))
    assert model.config == ModelConfig(cell="lstm", vocab_size=vocab, hidden=8, layers=2, init_range=0.08)
    assert (payload["step"], payload["epoch"], payload["untrained"]) == (0, 0, True)
    assert model.rnn.weight_hh_l1.shape == (4 * 8, 8) and model.decoder.weight.shape == (vocab, 8)
    assert max(parameter.abs().max().item() for parameter in model.parameters()) <= 0.08
    # Same seed, same weights; another seed, other weights.
    assert_same_weights(path, write_untrained(data_dir, tmp_path / "b" / "model.pt", shape))
    other, _ = load_model(write_untrained(data_dir, tmp_path / "c" / "model.pt", shape, seed=1))
    assert not torch.equal(other.rnn.weight_hh_l0, model.rnn.weight_hh_l0)
    # The weights are where training's restart 0 starts: one step of training moves off them.
    stepped = replace(SETTINGS, epochs=1, max_steps=1)
    trained = train(data_dir, tmp_path / "trained", stepped, shape)
    assert trained["steps"] == 1
    trained_model, _ = load_model(tmp_path / "trained" / "model.pt")
    initial = rnnscope.train.initial_model(model.config, SETTINGS.seed)
    torch.testing.assert_close(initial.state_dict(), model.state_dict())
    step = (trained_model.rnn.weight_hh_l0 - model.rnn.weight_hh_l0).abs().max().item()
    assert 0 < step <= 0.05 + 1e-6  # one Adam step moves each weight by at most about lr


def test_unigram_output_bias_starts_at_the_unigram_loss(data_dir: Path, tmp_path: Path) -> None:
    shape = {"cell": "lstm", "hidden": 8, "layers": 1, "init_range": 0.01}
    settings = replace(SETTINGS, output_bias="unigram")
    rnnscope.train.write_untrained_checkpoint(data_dir, shape, settings, tmp_path / "model.pt")
    model, _ = load_model(tmp_path / "model.pt")
    vocab = load_vocab(data_dir / "vocab.json")
    ids = rnnscope.train.batchify(
        rnnscope.train.load_split_ids(data_dir, vocab, "train"), settings.batch_size, settings.seq_len, "train"
    )
    counts = np.bincount(ids.flatten().numpy(), minlength=len(vocab))
    log_frequencies = np.log((counts + 0.5) / (counts + 0.5).sum())
    np.testing.assert_allclose(model.decoder.bias.detach().numpy(), log_frequencies, rtol=1e-5)
    # With tiny weights the logits are about the bias: the loss is about the unigram model's.
    unigram_loss = -(counts * log_frequencies).sum() / counts.sum()
    loss = rnnscope.train.evaluate(model, ids.flatten(), settings.batch_size, settings.seq_len, "train")
    assert abs(loss - unigram_loss) < 0.05
    # Training's restart 0 starts from the same weights.
    initial = rnnscope.train.initial_model(model.config, settings.seed, settings, ids)
    torch.testing.assert_close(initial.state_dict(), model.state_dict())
    with pytest.raises(
        ValueError, match=r"models\.<name>\.train\.output_bias: 'zipf' is not one of \['init', 'unigram'\]"
    ):
        replace(SETTINGS, output_bias="zipf")


def write_untrained(data_dir: Path, path: Path, shape: dict, seed: int = 0) -> Path:
    rnnscope.train.write_untrained_checkpoint(data_dir, shape, replace(SETTINGS, seed=seed), path)
    return path


# ---------------------------------------------------------------- word models (PTB recipe)


def test_zaremba_lr_schedule() -> None:
    settings = replace(SETTINGS, lr=1.0, optimizer="sgd", lr_decay=0.5, lr_decay_after=4)
    assert [settings.epoch_lr(epoch) for epoch in range(1, 8)] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]
    assert {SETTINGS.epoch_lr(epoch) for epoch in range(1, 50)} == {SETTINGS.lr}  # default: constant
    with pytest.raises(ValueError, match=r"models\.<name>\.train\.lr_decay: 1\.5 is greater than the maximum of 1"):
        replace(SETTINGS, lr_decay=1.5)


def test_tied_weights_share_one_matrix_and_survive_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="embedding must equal hidden"):
        ModelConfig(cell="lstm", vocab_size=7, hidden=6, embedding=5, tie_weights=True)
    tied = RNNModel(ModelConfig(cell="lstm", vocab_size=7, hidden=6, embedding=6, tie_weights=True))
    untied = RNNModel(ModelConfig(cell="lstm", vocab_size=7, hidden=6, embedding=6))
    assert tied.decoder.weight is tied.encoder.weight
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    assert count(untied) - count(tied) == 7 * 6
    rnnscope.train.save_checkpoint(tmp_path / "m.pt", tied, SETTINGS, step=0, epoch=0)
    loaded, _ = load_model(tmp_path / "m.pt")
    assert loaded.decoder.weight is loaded.encoder.weight
    torch.testing.assert_close(loaded.decoder.weight, tied.encoder.weight)


@pytest.fixture(scope="module")
def word_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("words")
    rng = np.random.default_rng(0)
    paths = []
    for split, lines in (("train", 120), ("valid", 15), ("test", 15)):
        # A small grammar, so that a trained model has something to beat the uniform guess with.
        text = "".join(
            f" the {rng.choice(['cat', 'dog', '<unk>'])} {rng.choice(['sat', 'ran'])} on a mat \n" for _ in range(lines)
        )
        (root / f"{split}.src").write_text(text)
        paths.append(str(root / f"{split}.src"))
    prepare_dataset({"kind": "word_files"}, paths, root / "data")
    return root / "data"


def test_sgd_with_clipping_and_decay_trains_a_tied_word_model(
    word_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip_calls: list[tuple[float, float, float]] = []
    original_clip = nn.utils.clip_grad_norm_

    def recording_clip(parameters, max_norm, *args, **kwargs):  # type: ignore[no-untyped-def]
        parameters = list(parameters)
        before = original_clip(parameters, max_norm, *args, **kwargs)
        after = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in parameters])).item()
        clip_calls.append((max_norm, before.item(), after))
        return before

    monkeypatch.setattr(rnnscope.train.nn.utils, "clip_grad_norm_", recording_clip)
    settings = TrainSettings(
        epochs=3,
        batch_size=4,
        seq_len=10,
        lr=1.0,
        optimizer="sgd",
        clip=0.05,
        lr_decay=0.5,
        lr_decay_after=1,
        max_train_tokens=400,
        eval_batch_size=2,
        seed=0,
    )
    model = {
        "cell": "lstm",
        "hidden": 8,
        "layers": 2,
        "embedding": 8,
        "tie_weights": True,
        "dropout": 0.1,
        "init_range": 0.1,
    }
    metrics = train(word_data_dir, tmp_path, settings, model)
    history = pd.read_csv(tmp_path / "history.csv")
    assert history["lr"].tolist() == [1.0, 0.5, 0.25]
    assert clip_calls and {max_norm for max_norm, _, _ in clip_calls} == {0.05}
    assert any(before > 0.05 for _, before, _ in clip_calls), "no step was large enough to be clipped"
    assert max(after for _, _, after in clip_calls) <= 0.05 + 1e-6
    assert metrics["level"] == "word" and metrics["train_tokens_used"] == 400
    # Tiny clipped steps still descend: every epoch's valid loss is below the last one's.
    assert history["valid_loss_nats"].is_monotonic_decreasing and history["valid_loss_nats"].is_unique
    assert metrics["splits"]["test"]["loss_nats"] < math.log(10)  # 10 token types: 9 words and <eos>
    loaded, payload = load_model(tmp_path / "model.pt")
    assert payload["model_config"]["tie_weights"] and loaded.decoder.weight is loaded.encoder.weight


def test_sum_over_time_matches_a_summed_loss_reference(data_dir: Path, tmp_path: Path) -> None:
    """loss_scale sum_over_time takes the papers' SGD steps: loss summed over the window's steps,
    averaged over the batch, clipped at that scale (a reference loop written out here)."""
    settings = TrainSettings(
        epochs=1,
        batch_size=4,
        seq_len=20,
        lr=0.5,
        optimizer="sgd",
        clip=1.0,
        seed=3,
        max_steps=3,
        loss_scale="sum_over_time",
        eval_batch_size=2,
    )
    model_settings = {"cell": "lstm", "hidden": 8, "layers": 2, "embedding": 6}
    train(data_dir, tmp_path, settings, model_settings)
    trained = torch.load(tmp_path / "model.pt", weights_only=True)["state_dict"]

    vocab = load_vocab(data_dir / "vocab.json")
    reference = rnnscope.train.initial_model(ModelConfig(vocab_size=len(vocab), **model_settings), seed=3)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.5)
    data = rnnscope.train.batchify(rnnscope.train.load_split_ids(data_dir, vocab, "train"), 4, 20, "train")
    hidden = None
    for _, (inputs, targets) in zip(range(3), rnnscope.train.chunks(data, 20), strict=False):
        logits, hidden = reference(inputs, None if hidden is None else rnnscope.train.detach(hidden))
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum") / inputs.size(0)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(reference.parameters(), 1.0)
        optimizer.step()
    for name, tensor in reference.state_dict().items():
        torch.testing.assert_close(trained[name], tensor, rtol=1e-5, atol=1e-6)
    # The mean loss takes different (shorter) steps from the same start.
    train(data_dir, tmp_path / "mean", replace(settings, loss_scale="mean"), model_settings)
    mean_trained = torch.load(tmp_path / "mean" / "model.pt", weights_only=True)["state_dict"]
    assert not torch.allclose(mean_trained["decoder.weight"], trained["decoder.weight"], atol=1e-4)


def test_early_stopping_keeps_the_best_epoch_and_survives_a_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Uniformly random characters: anything learnt beyond the frequencies is overfitting, so the
    # valid loss turns up after a few epochs and training stops early.
    corpus = tmp_path / "random.txt"
    corpus.write_text("".join(np.random.default_rng(0).choice(list("abcd\n"), size=1200)), encoding="utf-8")
    prepare_dataset({"kind": "text", "split": [0.8, 0.1, 0.1]}, [str(corpus)], tmp_path / "data")
    data_dir, model = tmp_path / "data", {"cell": "gru", "hidden": 32}
    settings = replace(SETTINGS, epochs=12, early_stopping_patience=2)
    metrics = train(data_dir, tmp_path / "whole", settings, model)
    history = pd.read_csv(tmp_path / "whole" / "history.csv")
    best_epoch = int(history.loc[history["valid_loss_nats"].idxmin(), "epoch"])
    assert metrics["kept_epoch"] == best_epoch
    assert metrics["epochs"] == best_epoch + 2 == history["epoch"].max() < 12
    assert metrics["restarts_valid_loss_nats"] == [history["valid_loss_nats"].min()]
    # The kept weights are the best epoch's: their valid loss is the best epoch's.
    assert metrics["splits"]["valid"]["loss_nats"] == pytest.approx(history["valid_loss_nats"].min(), rel=1e-5)
    # A kill after the best epoch, then a resume, keeps the same epoch and weights.
    fail_on_call(monkeypatch, failing_call=best_epoch + 1)
    with pytest.raises(RuntimeError, match="simulated kill"):
        train(data_dir, tmp_path / "resumed", settings, model)
    monkeypatch.undo()
    resumed = train(data_dir, tmp_path / "resumed", settings, model)
    assert resumed["kept_epoch"] == best_epoch
    assert_same_weights(tmp_path / "whole" / "model.pt", tmp_path / "resumed" / "model.pt")
