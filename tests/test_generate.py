from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnnscope.extract import extract_states
from rnnscope.generate import (
    GenerateSettings,
    generate_text,
    label_generated,
    sample_sequences,
    sequence_blocks,
)
from rnnscope.generated_probes import probe_generated_text, real_vs_generated_table
from rnnscope.hypotheses import label_text
from rnnscope.labels import read_labels
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.probes import METRIC_COLUMNS, ProbeSettings
from rnnscope.states import read_matrices, read_tokens

# One BLAS thread: the toy matrices are tiny, and the test machine is shared.
torch.set_num_threads(1)
VOCAB = list("\n !',.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def toy_model(cell: str = "lstm", seed: int = 0) -> RNNModel:
    # A wide init range makes the untrained next-character distributions far from uniform.
    torch.manual_seed(seed)
    return RNNModel(
        ModelConfig(cell=cell, vocab_size=len(VOCAB), hidden=12, layers=2, embedding=8, init_range=0.6)
    ).eval()


def save_model(model: RNNModel, folder: Path) -> tuple[Path, Path]:
    checkpoint, vocab = folder / "model.pt", folder / "vocab.json"
    torch.save({"model_config": model.config.to_dict(), "state_dict": model.state_dict()}, checkpoint)
    vocab.write_text(json.dumps({"tokens": VOCAB}))
    return checkpoint, vocab


def sample(model: RNNModel, temperature: float, seed: int, sequences: int = 3, length: int = 40) -> list[list[int]]:
    return sample_sequences(model, [0], sequences, length, temperature, torch.Generator().manual_seed(seed))


def test_sampling_is_deterministic_given_the_seed() -> None:
    model = toy_model()
    assert sample(model, 0.8, seed=3) == sample(model, 0.8, seed=3)
    assert sample(model, 0.8, seed=3) != sample(model, 0.8, seed=4)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_low_temperature_sampling_is_argmax(cell: str) -> None:
    """As T -> 0 every sampled character is the most likely one given its own sample so far,
    read from a zero state after the primer (nothing of the other samples)."""
    model = toy_model(cell)

    def argmax_misses(samples: list[list[int]]) -> int:
        misses = 0
        for ids in samples:
            with torch.no_grad():
                argmax = model(torch.tensor([[0, *ids]]))[0][0].argmax(-1).tolist()
            misses += sum(token != predicted for token, predicted in zip(ids, argmax[:-1], strict=True))
        return misses

    assert argmax_misses(sample(model, 1e-5, seed=0)) == 0
    # At T = 1 the samples are not all argmax (the model is far from deterministic).
    assert argmax_misses(sample(model, 1.0, seed=0)) > 10


def test_higher_temperature_spreads_the_samples() -> None:
    model = toy_model()

    def entropy(temperature: float) -> float:
        ids = np.concatenate(sample(model, temperature, seed=1, sequences=2, length=150))
        frequencies = np.bincount(ids) / len(ids)
        frequencies = frequencies[frequencies > 0]
        return float(-(frequencies * np.log(frequencies)).sum())

    assert entropy(0.3) < entropy(1.0) < entropy(3.0)


def test_settings_reject_bad_values() -> None:
    with pytest.raises(
        ValueError, match=r"config key generate\.temperature: 0\.0 is less than or equal to the minimum of 0"
    ):
        GenerateSettings(sequences=10, length=5, temperature=0.0, seed=0)
    # The seed's 95/5 by default: 10 samples leave none for test.
    with pytest.raises(ValueError, match="both need at least one"):
        GenerateSettings(sequences=10, length=5, temperature=0.8, seed=0)
    assert GenerateSettings(sequences=100, length=5, temperature=0.8, seed=0).split_sizes() == {"train": 95, "test": 5}
    assert GenerateSettings(sequences=10, length=5, temperature=0.8, seed=0, test_fraction=0.2).split_sizes() == {
        "train": 8,
        "test": 2,
    }


SETTINGS = GenerateSettings(sequences=10, length=60, temperature=0.8, seed=0, test_fraction=0.2)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("generated")
    checkpoint, vocab = save_model(toy_model(), folder)
    paths = {split: folder / f"{split}.txt" for split in ("train", "test")}
    generate_text(checkpoint, vocab, paths, folder / "summary.json", SETTINGS, model_name="toy")
    return {"folder": folder, "checkpoint": checkpoint, "vocab": vocab, **paths}


def test_generated_splits_are_split_by_sample(generated: dict[str, Path]) -> None:
    """Probe-train is the first 8 samples, probe-test the last 2: every sample whole, on one side."""
    train = sequence_blocks(generated["train"].read_text(), "\n", 60)
    test = sequence_blocks(generated["test"].read_text(), "\n", 60)
    samples = sample(toy_model(), 0.8, seed=0, sequences=10, length=60)
    assert train + test == ["".join(VOCAB[i] for i in ids) for ids in samples]
    assert len(train) == 8 and len(test) == 2 and not set(train) & set(test)
    summary = json.loads((generated["folder"] / "summary.json").read_text())
    assert summary["splits"]["train"] == summary["splits"]["train"] | {"sequences": 8, "characters": 8 * 61}
    with pytest.raises(ValueError, match="whole blocks"):
        sequence_blocks(generated["train"].read_text()[:-1], "\n", 60)


def test_generation_is_reproducible(generated: dict[str, Path], tmp_path: Path) -> None:
    paths = {split: tmp_path / f"{split}.txt" for split in ("train", "test")}
    generate_text(generated["checkpoint"], generated["vocab"], paths, tmp_path / "summary.json", SETTINGS)
    assert all(paths[split].read_text() == generated[split].read_text() for split in paths)


def write_samples(path: Path, samples: list[list[int]]) -> None:
    path.write_text("".join("\n" + "".join(VOCAB[i] for i in ids) for ids in samples))


def extract_segments(checkpoint: Path, text: Path, vocab: Path, out: Path, segment_len: int) -> dict[str, np.ndarray]:
    extract_states(checkpoint, text, vocab, out, "toy", kinds=["h", "c"], chunk_len=16, segment_len=segment_len)
    return read_matrices(out, [f"l{layer}_{kind}" for layer in (0, 1) for kind in ("h", "c")])


def test_extracted_states_are_the_sampler_states(tmp_path: Path) -> None:
    """A hook records the LSTM's (h, c) of every layer at every step the sampler takes; extracting
    the written samples (each from a zero state) yields the same states, row for row."""
    model = toy_model("lstm")
    checkpoint, vocab = save_model(model, tmp_path)
    steps: list[tuple[torch.Tensor, torch.Tensor]] = []
    hook = model.rnn.register_forward_hook(lambda module, inputs, outputs: steps.append(outputs[1]))
    samples = sample(model, 0.8, seed=5, sequences=4, length=30)
    hook.remove()
    assert len(steps) == 31  # the primer, then each sampled character (one token per call)
    write_samples(tmp_path / "text.txt", samples)
    states = extract_segments(checkpoint, tmp_path / "text.txt", vocab, tmp_path / "states.parquet", segment_len=31)
    for layer in (0, 1):
        for index, kind in enumerate(("h", "c")):
            # (steps, layers, samples, hidden) -> rows of sample 0 (primer + 30), then sample 1, ...
            sampler = torch.stack([step[index] for step in steps])[:, layer].transpose(0, 1).reshape(-1, 12)
            np.testing.assert_allclose(states[f"l{layer}_{kind}"], sampler.numpy(), atol=1e-5)
    tokens = read_tokens(tmp_path / "states.parquet").to_pandas()
    # A sample's last row has no next token: the next sample is not its continuation.
    assert (tokens["next_token_id"].to_numpy().reshape(4, 31)[:, -1] == -1).all()


def test_samples_are_independent(tmp_path: Path) -> None:
    """Changing sample 1 changes its own states only; read as one stream (the old protocol) it
    would change every later sample's states too."""
    model = toy_model("lstm", seed=1)
    checkpoint, vocab = save_model(model, tmp_path)
    samples = sample(model, 0.8, seed=1, sequences=4, length=30)
    write_samples(tmp_path / "a.txt", samples)
    write_samples(tmp_path / "b.txt", [samples[0], samples[1][::-1], *samples[2:]])
    for segment_len, later_unchanged in ((31, True), (0, False)):
        a = extract_segments(checkpoint, tmp_path / "a.txt", vocab, tmp_path / "a.parquet", segment_len)[
            "l1_h"
        ].reshape(4, 31, 12)
        b = extract_segments(checkpoint, tmp_path / "b.txt", vocab, tmp_path / "b.parquet", segment_len)[
            "l1_h"
        ].reshape(4, 31, 12)
        assert np.array_equal(a[0], b[0]) and not np.allclose(a[1], b[1])
        assert np.array_equal(a[2:], b[2:]) == later_unchanged
    with pytest.raises(ValueError, match="segment of 30 tokens"):
        (tmp_path / "c.txt").write_text((tmp_path / "a.txt").read_text()[:-1])
        extract_segments(checkpoint, tmp_path / "c.txt", vocab, tmp_path / "c.parquet", segment_len=31)


def test_each_sample_is_labelled_on_its_own(tmp_path: Path) -> None:
    """Sample 0 ends inside a comment and a parenthesis; sample 1 starts outside both (its model
    state started from zero). The primer rows are unlabelled."""
    samples = ["f(a); /* x", "int y = 1;"]
    (tmp_path / "text.txt").write_text("".join("\n" + text for text in samples))
    labels = label_generated(tmp_path / "text.txt", "\n", 10, "code", tmp_path / "labels.parquet")
    written, kinds = read_labels(tmp_path / "labels.parquet")
    assert written["position"].tolist() == list(range(22)) and set(kinds) == set(labels.columns) - {"position"}
    assert written.loc[[0, 11], list(kinds)].isna().all().all()
    assert written["inside_comment"].tolist()[1:11] == [False] * 6 + [True] * 4
    assert not written["inside_comment"].iloc[12:].any() and written["paren_depth"].iloc[12:].eq(0).all()
    assert written["position_in_line"].iloc[12:].tolist() == list(range(10))
    # Labelled as one stream, the comment would run on into sample 1.
    stream, _ = label_text((tmp_path / "text.txt").read_text(), "code")
    assert stream["inside_comment"].iloc[12:].all()


def test_probes_on_generated_text(generated: dict[str, Path], tagger_data: Path) -> None:
    folder = generated["folder"]
    for split in ("train", "test"):
        extract_states(
            generated["checkpoint"],
            generated[split],
            generated["vocab"],
            folder / f"states_{split}.parquet",
            "toy",
            kinds=["h"],
            segment_len=61,
        )
        label_generated(
            generated[split], "\n", 60, "char_text", folder / f"labels_{split}.parquet", tagger_data=tagger_data
        )
    # probe.warmup_tokens (for real splits) is not applied to generated samples
    settings = ProbeSettings(
        max_train_rows=5000,
        max_test_rows=5000,
        max_iter=100,
        C=1.0,
        seed=0,
        weightings=("balanced",),
        standardize=True,
        n_jobs=1,
        warmup_tokens=50,
    )
    table = probe_generated_text(
        folder / "states_train.parquet",
        folder / "states_test.parquet",
        folder / "labels_train.parquet",
        folder / "labels_test.parquet",
        settings,
        folder / "generated_metrics.csv",
        folder / "generated_weights.npz",
        model="toy",
    )
    written = pd.read_csv(folder / "generated_metrics.csv")
    assert list(written.columns) == [METRIC_COLUMNS[0], "text", *METRIC_COLUMNS[1:]]
    assert (written["text"] == "generated").all() and len(written) == len(table)
    position = written[(written["hypothesis"] == "position_in_line") & (written["layer"] == 1)]
    # every sampled character of every sample (no warm-up), no primer row
    assert position["n_train"].item() == 8 * 60 and position["n_test"].item() == 2 * 60
    # The same probes on "real" text (here: the same files again) line up row by row.
    comparison = real_vs_generated_table(
        [folder / "generated_metrics.csv"], [folder / "generated_metrics.csv"], folder / "comparison.csv"
    )
    assert len(comparison) == len(written)
    ok = comparison["status_real"] == "ok"
    assert np.allclose(comparison.loc[ok, "score_real"], comparison.loc[ok, "score_generated"])
