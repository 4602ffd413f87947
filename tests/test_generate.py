from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnnscope.extract import extract_states
from rnnscope.generate import GenerateSettings, generate_text, sample_stream, sequence_blocks
from rnnscope.generated_probes import probe_generated_text, real_vs_generated_table
from rnnscope.hypotheses import label_split
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.probes import METRIC_COLUMNS, ProbeSettings
from rnnscope.states import read_tokens

# One BLAS thread: the toy matrices are tiny, and the test machine is shared.
torch.set_num_threads(1)
VOCAB = list("\n !',.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def toy_model(cell: str = "lstm", seed: int = 0) -> RNNModel:
    # A wide init range makes the untrained next-character distributions far from uniform.
    torch.manual_seed(seed)
    return RNNModel(ModelConfig(cell=cell, vocab_size=len(VOCAB), hidden=12, layers=2, embedding=8, init_range=0.6)).eval()


def save_model(model: RNNModel, folder: Path) -> tuple[Path, Path]:
    checkpoint, vocab = folder / "model.pt", folder / "vocab.json"
    torch.save({"model_config": model.config.to_dict(), "state_dict": model.state_dict()}, checkpoint)
    vocab.write_text(json.dumps({"tokens": VOCAB}))
    return checkpoint, vocab


def sample(model: RNNModel, temperature: float, seed: int, sequences: int = 3, length: int = 40) -> list[list[int]]:
    return sample_stream(model, [0], sequences, length, temperature, torch.Generator().manual_seed(seed))


def test_sampling_is_deterministic_given_the_seed() -> None:
    model = toy_model()
    assert sample(model, 0.8, seed=3) == sample(model, 0.8, seed=3)
    assert sample(model, 0.8, seed=3) != sample(model, 0.8, seed=4)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_low_temperature_sampling_is_argmax(cell: str) -> None:
    """As T -> 0 every sampled character is the model's most likely one given the stream so far."""
    model = toy_model(cell)
    sequences = sample(model, 1e-5, seed=0)
    stream = [token for ids in sequences for token in [0, *ids]]
    with torch.no_grad():
        logits, _ = model(torch.tensor([stream]))
    argmax = logits[0].argmax(-1).tolist()
    sampled_rows = [row for row in range(1, len(stream)) if row % 41 != 0]  # rows that were sampled, not primed
    assert all(stream[row] == argmax[row - 1] for row in sampled_rows)
    # At T = 1 the samples are not all argmax (the model is far from deterministic).
    stream_t1 = [token for ids in sample(model, 1.0, seed=0) for token in [0, *ids]]
    with torch.no_grad():
        argmax_t1 = model(torch.tensor([stream_t1]))[0][0].argmax(-1).tolist()
    assert sum(stream_t1[row] != argmax_t1[row - 1] for row in sampled_rows) > 10


def test_higher_temperature_spreads_the_samples() -> None:
    model = toy_model()

    def entropy(temperature: float) -> float:
        ids = np.concatenate(sample(model, temperature, seed=1, sequences=2, length=150))
        frequencies = np.bincount(ids) / len(ids)
        frequencies = frequencies[frequencies > 0]
        return float(-(frequencies * np.log(frequencies)).sum())

    assert entropy(0.3) < entropy(1.0) < entropy(3.0)


def test_settings_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="temperature"):
        GenerateSettings(sequences=10, length=5, temperature=0.0, seed=0)
    with pytest.raises(ValueError, match="both need at least one"):
        GenerateSettings(sequences=10, length=5, temperature=0.8, seed=0, test_fraction=0.01)
    assert GenerateSettings(sequences=10, length=5, temperature=0.8, seed=0).split_sizes() == {"train": 8, "test": 2}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("generated")
    checkpoint, vocab = save_model(toy_model(), folder)
    settings = GenerateSettings(sequences=10, length=60, temperature=0.8, seed=0)
    paths = {split: folder / f"{split}.txt" for split in ("train", "test")}
    generate_text(checkpoint, vocab, paths, folder / "summary.json", settings, model_name="toy")
    return {"folder": folder, "checkpoint": checkpoint, "vocab": vocab, **paths}


def test_generated_splits_hold_whole_distinct_sequences(generated: dict[str, Path]) -> None:
    train = sequence_blocks(generated["train"].read_text(), "\n", 60)
    test = sequence_blocks(generated["test"].read_text(), "\n", 60)
    assert len(train) == 8 and len(test) == 2
    assert all(len(sequence) == 60 for sequence in train + test)
    assert not set(train) & set(test)
    summary = json.loads((generated["folder"] / "summary.json").read_text())
    assert summary["splits"]["train"] == summary["splits"]["train"] | {"sequences": 8, "characters": 8 * 61}
    with pytest.raises(ValueError, match="whole blocks"):
        sequence_blocks(generated["train"].read_text()[:-1], "\n", 60)


def test_generation_is_reproducible(generated: dict[str, Path], tmp_path: Path) -> None:
    settings = GenerateSettings(sequences=10, length=60, temperature=0.8, seed=0)
    paths = {split: tmp_path / f"{split}.txt" for split in ("train", "test")}
    generate_text(generated["checkpoint"], generated["vocab"], paths, tmp_path / "summary.json", settings)
    assert all(paths[split].read_text() == generated[split].read_text() for split in paths)


def test_extraction_of_generated_text_reproduces_the_sampler_states(tmp_path: Path) -> None:
    """At T -> 0 each sampled character is the argmax of the sampler's state; extraction re-reads
    the stream from a zero state, so its predictions must name the same characters."""
    model = toy_model("gru")
    checkpoint, vocab = save_model(model, tmp_path)
    settings = GenerateSettings(sequences=4, length=50, temperature=1e-5, seed=0)
    paths = {split: tmp_path / f"{split}.txt" for split in ("train", "test")}
    generate_text(checkpoint, vocab, paths, tmp_path / "summary.json", settings)
    extract_states(checkpoint, paths["train"], vocab, tmp_path / "states.parquet", "toy", kinds=["h"], chunk_len=64)
    tokens = read_tokens(tmp_path / "states.parquet").to_pandas()
    sampled = tokens.index[(tokens["position"] % 51 != 50)]  # rows whose next character was sampled
    assert (tokens.loc[sampled, "pred_id"] == tokens.loc[sampled, "next_token_id"]).all()


def test_probes_on_generated_text(generated: dict[str, Path], tagger_data: Path) -> None:
    folder = generated["folder"]
    for split in ("train", "test"):
        extract_states(generated["checkpoint"], generated[split], generated["vocab"], folder / f"states_{split}.parquet", "toy", kinds=["h"])
        label_split(generated[split], "char_text", folder / f"labels_{split}.parquet", tagger_data=tagger_data)
    settings = ProbeSettings(max_train_rows=5000, max_test_rows=5000, max_iter=100, C=1.0, seed=0, weightings=("balanced",), standardize=True, n_jobs=1, warmup_tokens=0)
    table = probe_generated_text(
        folder / "states_train.parquet", folder / "states_test.parquet", folder / "labels_train.parquet", folder / "labels_test.parquet",
        settings, folder / "generated_metrics.csv", folder / "generated_weights.npz", model="toy",
    )
    written = pd.read_csv(folder / "generated_metrics.csv")
    assert list(written.columns) == [METRIC_COLUMNS[0], "text", *METRIC_COLUMNS[1:]]
    assert (written["text"] == "generated").all() and len(written) == len(table)
    position = written[(written["hypothesis"] == "position_in_line") & (written["layer"] == 1)]
    assert position["n_train"].item() == 8 * 61 and position["n_test"].item() == 2 * 61
    # The same probes on "real" text (here: the same files again) line up row by row.
    comparison = real_vs_generated_table([folder / "generated_metrics.csv"], [folder / "generated_metrics.csv"], folder / "comparison.csv")
    assert len(comparison) == len(written)
    ok = comparison["status_real"] == "ok"
    assert np.allclose(comparison.loc[ok, "score_real"], comparison.loc[ok, "score_generated"])
