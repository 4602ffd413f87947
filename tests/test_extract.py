"""Hidden-state extraction, checked against a step-by-step loop over PyTorch's single cells."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from torch import nn

from rnnscope.extract import extract_states, stream_layout
from rnnscope.hypotheses import label_split, label_text
from rnnscope.labels import read_labels
from rnnscope.models import ModelConfig, RNNModel
from rnnscope.responses import expected_response
from rnnscope.sampling import sampled_positions
from rnnscope.states import StatesWriter, read_info, read_matrices, read_matrix_rows, read_tokens
from rnnscope.train import TrainSettings, save_checkpoint

VOCAB = ["\n", "a", "b", "c"]
TOKENS = 50  # 7 * 7 + 1: chunks of 7 end in a chunk of one token
KINDS = {"srn": ("h",), "rnn_tanh": ("h",), "gru": ("h", "r", "z", "n"), "lstm": ("h", "c", "i", "f", "g", "o")}


@dataclass
class Setup:
    checkpoint: Path
    text: Path
    vocab: Path
    ids: list[int]
    model: RNNModel


def make_setup(tmp_path: Path, cell: str, layers: int, embedding: int, init_range: float = 0.9) -> Setup:
    torch.manual_seed(11)
    model = RNNModel(
        ModelConfig(cell=cell, vocab_size=4, hidden=5, layers=layers, embedding=embedding, init_range=init_range)
    ).eval()
    checkpoint = tmp_path / "model.pt"
    save_checkpoint(checkpoint, model, TrainSettings(epochs=1, batch_size=1, seq_len=4, lr=0.1), step=0, epoch=0)
    rng = random.Random(5)
    ids = [rng.randrange(4) for _ in range(TOKENS)]
    text = tmp_path / "test.txt"
    text.write_text("".join(VOCAB[i] for i in ids), encoding="utf-8", newline="")
    vocab = tmp_path / "vocab.json"
    vocab.write_text(json.dumps({"tokens": VOCAB}))
    return Setup(checkpoint, text, vocab, ids, model)


def reference_states(model: RNNModel, ids: list[int]) -> dict[str, np.ndarray]:
    """Every layer's h (and c and gates) from one nn.*Cell step at a time, gates by the textbook equations."""
    config = model.config
    tokens = torch.tensor(ids)
    inputs = torch.eye(config.vocab_size)[tokens] if config.embedding == 0 else model.encoder.weight[tokens]
    states: dict[str, np.ndarray] = {}
    hidden = config.hidden
    for layer in range(config.layers):
        weights = {
            name: getattr(model.rnn, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
        input_size = inputs.shape[1]
        if config.cell == "lstm":
            cell: nn.Module = nn.LSTMCell(input_size, hidden)
        elif config.cell == "gru":
            cell = nn.GRUCell(input_size, hidden)
        else:
            cell = nn.RNNCell(input_size, hidden, nonlinearity="tanh")
        cell.load_state_dict(weights)
        h, c = torch.zeros(hidden), torch.zeros(hidden)
        rows: dict[str, list[torch.Tensor]] = {kind: [] for kind in KINDS[config.cell]}
        for x in inputs:
            x_part = weights["weight_ih"] @ x + weights["bias_ih"]
            h_part = weights["weight_hh"] @ h + weights["bias_hh"]
            if config.cell == "lstm":
                i, f, g, o = (x_part + h_part).chunk(4)
                i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
                h_new, c_new = cell(x[None], (h[None], c[None]))
                h_new, c_new = h_new[0], c_new[0]
                torch.testing.assert_close(c_new, f * c + i * g)
                torch.testing.assert_close(h_new, o * torch.tanh(c_new))
                for kind, value in zip("ifgoc", (i, f, g, o, c_new), strict=True):
                    rows[kind].append(value)
                c = c_new
            elif config.cell == "gru":
                x_r, x_z, x_n = x_part.chunk(3)
                h_r, h_z, h_n = h_part.chunk(3)
                r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
                n = torch.tanh(x_n + r * h_n)
                h_new = cell(x[None], h[None])[0]
                torch.testing.assert_close(h_new, (1 - z) * n + z * h)
                for kind, value in zip("rzn", (r, z, n), strict=True):
                    rows[kind].append(value)
            else:
                h_new = cell(x[None], h[None])[0]
            rows["h"].append(h_new)
            h = h_new
        for kind, values in rows.items():
            states[f"l{layer}_{kind}"] = torch.stack(values).detach().numpy()
        inputs = torch.stack(rows["h"]).detach()
    states["logits"] = model.decoder(inputs).detach().numpy()
    return states


CASES = [("lstm", 2, 3), ("gru", 2, 3), ("rnn_tanh", 2, 0), ("srn", 1, 0)]


@pytest.mark.parametrize("cell, layers, embedding", CASES)
@pytest.mark.parametrize("chunk_len", [7, 4096])
def test_states_match_step_by_step_cells(
    tmp_path: Path, cell: str, layers: int, embedding: int, chunk_len: int
) -> None:
    setup = make_setup(tmp_path, cell, layers, embedding)
    out = tmp_path / "states.parquet"
    rows = extract_states(setup.checkpoint, setup.text, setup.vocab, out, model_name="m", chunk_len=chunk_len)
    assert rows == TOKENS
    expected = reference_states(setup.model, setup.ids)
    columns = [f"l{layer}_{kind}" for layer in range(layers) for kind in KINDS[cell]]
    actual = read_matrices(out, columns)
    for name in columns:
        np.testing.assert_allclose(actual[name], expected[name], atol=1e-5, rtol=0, err_msg=name)
        assert actual[name].shape == (TOKENS, 5)

    tokens = read_tokens(out).to_pandas()
    ids = np.array(setup.ids)
    assert tokens["position"].tolist() == list(range(TOKENS))
    assert tokens["token_id"].tolist() == setup.ids
    assert tokens["token"].tolist() == [VOCAB[i] for i in setup.ids]
    assert tokens["next_token_id"].tolist() == setup.ids[1:] + [-1]
    log_probs = torch.log_softmax(torch.from_numpy(expected["logits"]), dim=-1).numpy()
    np.testing.assert_allclose(
        tokens["logprob_next"][:-1], log_probs[np.arange(TOKENS - 1), ids[1:]], atol=1e-5, rtol=0
    )
    assert np.isnan(tokens["logprob_next"].iloc[-1])
    assert tokens["pred_id"].tolist() == log_probs.argmax(axis=1).tolist()
    assert read_info(out).kinds == KINDS[cell]


def compare_states(name: str, actual: np.ndarray, expected: np.ndarray) -> None:
    """h comes from the fused kernel and must match bit for bit; c and the gates are recomputed
    with one matmul per chunk, whose float32 rounding depends on the chunk's length (1 ulp)."""
    if name.endswith("_h"):
        np.testing.assert_array_equal(actual, expected, err_msg=name)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6, err_msg=name)


def test_chunk_length_does_not_change_the_file(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, "lstm", 2, 3)
    small, large = tmp_path / "small.parquet", tmp_path / "large.parquet"
    extract_states(setup.checkpoint, setup.text, setup.vocab, small, model_name="m", chunk_len=7)
    extract_states(setup.checkpoint, setup.text, setup.vocab, large, model_name="m", chunk_len=4096)
    pd.testing.assert_frame_equal(read_tokens(small).to_pandas(), read_tokens(large).to_pandas())
    columns = read_info(small).columns
    assert columns == read_info(large).columns and len(columns) == 12
    small_states, large_states = read_matrices(small, columns), read_matrices(large, columns)
    for name in columns:
        compare_states(name, small_states[name], large_states[name])


def test_max_tokens_kinds_and_readers(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, "lstm", 2, 3)
    full, capped = tmp_path / "full.parquet", tmp_path / "capped.parquet"
    extract_states(setup.checkpoint, setup.text, setup.vocab, full, model_name="full")
    rows = extract_states(
        setup.checkpoint,
        setup.text,
        setup.vocab,
        capped,
        model_name="lstm-2",
        kinds=["c", "h"],
        max_tokens=10,
        chunk_len=4,
    )
    assert rows == 10

    info = read_info(capped)
    assert (info.model, info.cell, info.layers, info.hidden, info.kinds) == ("lstm-2", "lstm", 2, 5, ("h", "c"))
    frame = pd.read_parquet(capped)
    assert list(frame.columns) == [
        "position",
        "sequence",
        "token_id",
        "token",
        "next_token_id",
        "logprob_next",
        "pred_id",
        "l0_h",
        "l0_c",
        "l1_h",
        "l1_c",
    ]
    assert len(frame) == 10
    assert frame["position"].tolist() == list(range(10)) and (frame["sequence"] == 0).all()  # one stream
    assert frame["next_token_id"].tolist() == setup.ids[1:11]  # the token past the cap is still the next token
    assert duckdb.sql(f"select count(*) from '{capped}'").fetchall()[0][0] == 10
    assert duckdb.sql(f"select max(position) from '{full}'").fetchall()[0][0] == TOKENS - 1

    # The capped rows are the full extraction's first rows.
    capped_states = read_matrices(capped, info.columns)
    full_states = read_matrices(full, info.columns)
    for name in info.columns:
        compare_states(name, capped_states[name], full_states[name][:10])
    full_tokens = read_tokens(full).to_pandas()
    np.testing.assert_array_equal(frame["logprob_next"], full_tokens["logprob_next"][:10])


def test_read_matrix_rows_takes_rows_across_row_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = make_setup(tmp_path, "lstm", 2, 3)
    states = tmp_path / "states.parquet"
    monkeypatch.setattr(StatesWriter.__init__, "__defaults__", (4,))  # row groups of 4 rows
    extract_states(setup.checkpoint, setup.text, setup.vocab, states, model_name="m", chunk_len=7)
    assert pq.ParquetFile(states).metadata.num_row_groups > 4
    full = read_matrices(states, ["l1_c"])["l1_c"]
    for rows in ([0], [3, 4, 5, 17, TOKENS - 1], list(range(TOKENS)), []):
        wanted = np.asarray(rows, dtype=np.int64)
        np.testing.assert_array_equal(read_matrix_rows(states, "l1_c", wanted), full[wanted])
    with pytest.raises(IndexError, match=f"has {TOKENS} rows; row {TOKENS} was asked for"):
        read_matrix_rows(states, "l1_c", np.array([1, TOKENS]))


@pytest.mark.parametrize("cell, layers, kinds", [("lstm", 1, ["h", "r"]), ("srn", 1, ["c"]), ("gru", 1, ["i"])])
def test_unavailable_kind_is_an_error(tmp_path: Path, cell: str, layers: int, kinds: list[str]) -> None:
    setup = make_setup(tmp_path, cell, layers, 0)
    out = tmp_path / "states.parquet"
    with pytest.raises(ValueError, match=f"do not exist for cell '{cell}'; it has"):
        extract_states(setup.checkpoint, setup.text, setup.vocab, out, model_name="m", kinds=kinds)
    assert not out.exists()


def test_failed_extraction_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = make_setup(tmp_path, "gru", 2, 3)
    original = StatesWriter.write
    calls = 0

    def write(self: StatesWriter, tokens: dict, states: dict) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk full")
        original(self, tokens, states)

    monkeypatch.setattr(StatesWriter, "write", write)
    out = tmp_path / "out" / "states.parquet"
    with pytest.raises(RuntimeError, match="disk full"):
        extract_states(setup.checkpoint, setup.text, setup.vocab, out, model_name="m", chunk_len=7)
    assert calls == 2
    assert list(out.parent.iterdir()) == []


def test_too_short_text_is_an_error(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, "srn", 1, 0)
    setup.text.write_text("a", encoding="utf-8")
    out = tmp_path / "states.parquet"
    with pytest.raises(ValueError, match="fewer than 2 tokens"):
        extract_states(setup.checkpoint, setup.text, setup.vocab, out, model_name="m")
    assert not out.exists()


def test_word_level_extraction_token_column_holds_words(tmp_path: Path) -> None:
    """A word model's states file has one row per word (``<eos>`` at line ends), named in ``token``."""
    from rnnscope.data import prepare_dataset
    from rnnscope.text import EOS, encode

    sources = []
    splits = (
        ("train", " the cat sat \n the dog sat <unk> \n"),
        ("valid", " the cat \n"),
        ("test", " the dog ran \n a cat sat\n"),
    )
    for split, text in splits:  # 'ran' and 'a' are not train words: they read as <unk>
        path = tmp_path / f"{split}.src"
        path.write_text(text, encoding="utf-8")
        sources.append(str(path))
    prepare_dataset({"kind": "word_files"}, sources, tmp_path / "data")
    vocab = json.loads((tmp_path / "data" / "vocab.json").read_text())["tokens"]
    torch.manual_seed(0)
    model = RNNModel(ModelConfig(cell="gru", vocab_size=len(vocab), hidden=4, layers=2, embedding=4, tie_weights=True))
    save_checkpoint(
        tmp_path / "model.pt", model, TrainSettings(epochs=1, batch_size=1, seq_len=4, lr=0.1), step=0, epoch=0
    )
    out = tmp_path / "states.parquet"
    rows = extract_states(
        tmp_path / "model.pt", tmp_path / "data" / "test.txt", tmp_path / "data" / "vocab.json", out, "m", chunk_len=3
    )
    tokens = read_tokens(out).to_pandas()
    assert rows == 8
    assert tokens["token"].tolist() == ["the", "dog", "<unk>", EOS, "<unk>", "cat", "sat", EOS]
    ids = encode((tmp_path / "data" / "test.txt").read_text(), vocab, "word")
    assert tokens["token_id"].tolist() == ids and tokens["next_token_id"].tolist() == ids[1:] + [-1]


def test_device_choice_auto_cpu_and_cuda_without_a_gpu(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, "lstm", 2, 3)
    paths = {device: tmp_path / f"{device}.parquet" for device in ("cpu", "auto")}
    for device, path in paths.items():
        extract_states(setup.checkpoint, setup.text, setup.vocab, path, model_name="m", chunk_len=7, device=device)
    columns = read_info(paths["cpu"]).columns
    cpu, auto = read_matrices(paths["cpu"], columns), read_matrices(paths["auto"], columns)
    for name in columns:  # auto on a CPU machine is the CPU path; on a GPU machine it agrees to float32 rounding
        np.testing.assert_allclose(auto[name], cpu[name], atol=1e-5)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device; set .* to auto or cpu"):
            extract_states(
                setup.checkpoint, setup.text, setup.vocab, tmp_path / "cuda.parquet", model_name="m", device="cuda"
            )
        assert not (tmp_path / "cuda.parquet").exists()


# streams 8 with a warm-up longer than the split: one stream, through the side-by-side code path.
@pytest.mark.parametrize("streams", [1, 8])
@pytest.mark.parametrize("cell, layers, embedding", [("lstm", 2, 3), ("gru", 2, 3)])
def test_spread_rows_are_the_uninterrupted_runs_states_at_sampled_positions(
    tmp_path: Path, cell: str, layers: int, embedding: int, streams: int
) -> None:
    setup = make_setup(tmp_path, cell, layers, embedding)
    full, spread = tmp_path / "full.parquet", tmp_path / "spread.parquet"
    extract_states(setup.checkpoint, setup.text, setup.vocab, full, model_name="m", chunk_len=7)
    rows = extract_states(
        setup.checkpoint,
        setup.text,
        setup.vocab,
        spread,
        model_name="m",
        max_tokens=12,
        chunk_len=7,
        sampling="spread",
        skip=5,
        seed=3,
        streams=streams,
        stream_warmup=TOKENS,
    )
    kept = sampled_positions(TOKENS, 12, "spread", skip=5, seed=3)
    tokens = read_tokens(spread).to_pandas()
    assert rows == 12 and tokens["position"].tolist() == kept.tolist()
    assert kept.min() >= 5 and kept.max() < TOKENS and kept[-1] > 12  # spread past the prefix
    columns = read_info(full).columns
    full_states, spread_states = read_matrices(full, columns), read_matrices(spread, columns)
    for name in columns:
        compare_states(name, spread_states[name], full_states[name][kept])
    # Token columns (next token, its log-probability, the prediction) as the full run has them.
    pd.testing.assert_frame_equal(tokens, read_tokens(full).to_pandas().iloc[kept].reset_index(drop=True))


def test_stream_layout() -> None:
    # 50 tokens, 5 streams, warm-up 8: parts of 10; stream 1 starts reading at 2 (its part at 10).
    used, part, starts = stream_layout(50, 5, 8)
    assert (used, part, starts.tolist()) == (5, 10, [0, 2, 12, 22, 32])
    # Parts are never shorter than the warm-up: 50 // 20 = 2 streams of 25.
    used, part, starts = stream_layout(50, 5, 20)
    assert (used, part, starts.tolist()) == (2, 25, [0, 5])
    assert stream_layout(50, 5, 0)[:2] == (5, 10)  # no warm-up: parts read from a zero state
    assert stream_layout(50, 5, 60)[:2] == (1, 50)  # warm-up past the split: the uninterrupted run
    with pytest.raises(ValueError, match="streams must be >= 1"):
        stream_layout(50, 0, 8)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_side_by_side_streams_keep_the_positions_and_near_the_uninterrupted_states(tmp_path: Path, cell: str) -> None:
    # Small weights forget the zero start within a few tokens, as a trained model forgets its
    # start over stream_warmup; the first part (stream 0 reads from position 0) is the same run,
    # to the rounding of a batched matmul.
    setup = make_setup(tmp_path, cell, 2, 3, init_range=0.3)
    full, spread = tmp_path / "full.parquet", tmp_path / "spread.parquet"
    extract_states(setup.checkpoint, setup.text, setup.vocab, full, model_name="m", chunk_len=7)
    kwargs = {"max_tokens": 45, "chunk_len": 7, "sampling": "spread", "skip": 5}
    rows = extract_states(
        setup.checkpoint, setup.text, setup.vocab, spread, model_name="m", streams=5, stream_warmup=8, **kwargs
    )
    tokens = read_tokens(spread).to_pandas()
    assert rows == 45 and tokens["position"].tolist() == list(range(5, TOKENS))  # in order, the last one included
    assert tokens["next_token_id"].iloc[-1] == -1
    full_tokens = read_tokens(full).to_pandas().iloc[5:].reset_index(drop=True)
    assert tokens[["token_id", "next_token_id"]].equals(full_tokens[["token_id", "next_token_id"]])
    columns = read_info(full).columns
    full_states, spread_states = read_matrices(full, columns), read_matrices(spread, columns)
    first_part = tokens["position"].to_numpy() < 10
    for name in columns:
        expected = full_states[name][5:]
        np.testing.assert_allclose(spread_states[name][first_part], expected[first_part], rtol=1e-6, atol=1e-7)
        later = np.abs(spread_states[name][~first_part] - expected[~first_part])
        # close after 8 tokens of warm-up, but a different run: not the same bits
        assert later.max() < 1e-2 and later.max() > 0, (name, later.max())


def test_spread_at_the_splits_end_and_responses_refuse_it(tmp_path: Path) -> None:
    setup = make_setup(tmp_path, "gru", 1, 0)
    out = tmp_path / "spread.parquet"
    # 45 of the 45 positions after the first 5: every one, up to the last token (no next token).
    assert (
        extract_states(
            setup.checkpoint,
            setup.text,
            setup.vocab,
            out,
            model_name="m",
            max_tokens=45,
            chunk_len=7,
            sampling="spread",
            skip=5,
        )
        == 45
    )
    tokens = read_tokens(out).to_pandas()
    assert tokens["position"].tolist() == list(range(5, TOKENS)) and tokens["next_token_id"].iloc[-1] == -1
    with pytest.raises(ValueError, match="none after the first 60"):
        extract_states(
            setup.checkpoint, setup.text, setup.vocab, out, model_name="m", max_tokens=4, sampling="spread", skip=60
        )
    # Expected responses take Δh between consecutive rows: a spread file is not one stream.
    with pytest.raises(ValueError, match="not one stream in order"):
        expected_response(out, "l0_h", min_count=1)


def test_sampled_positions() -> None:
    spread = sampled_positions(1_000_000, 1000, "spread", skip=50, seed=0)
    assert len(spread) == 1000 and len(np.unique(spread)) == 1000 and np.all(np.diff(spread) > 0)
    assert spread.min() >= 50 and spread.max() < 1_000_000 and spread.dtype == np.int64
    np.testing.assert_array_equal(
        spread, sampled_positions(1_000_000, 1000, "spread", skip=50, seed=0)
    )  # deterministic
    assert not np.array_equal(spread, sampled_positions(1_000_000, 1000, "spread", skip=50, seed=1))
    # Uniform over the split: each tenth holds about a tenth of the positions.
    assert np.histogram(spread, bins=10, range=(0, 1_000_000))[0].min() > 60
    assert sampled_positions(100, 10, "prefix", skip=50).tolist() == list(range(10))  # prefix ignores skip
    assert sampled_positions(100, 0, "spread").tolist() == list(range(100))  # 0 = the whole split
    assert sampled_positions(60, 20, "spread", skip=50).tolist() == list(range(50, 60))
    with pytest.raises(ValueError, match="unknown sampling"):
        sampled_positions(100, 10, "random")  # type: ignore[arg-type]


def test_spread_labels_sit_at_the_states_positions(tmp_path: Path) -> None:
    """Both stages call sampled_positions with the same settings: the probes' position check holds,
    and each kept label is the whole split's label at that position."""
    code = 'int a; /* c */\nf("x", (b[1]));\n' * 40
    vocab = sorted(set(code))
    text = tmp_path / "code.txt"
    text.write_text(code, newline="")
    (tmp_path / "vocab.json").write_text(json.dumps({"tokens": vocab}))
    torch.manual_seed(0)
    model = RNNModel(ModelConfig(cell="lstm", vocab_size=len(vocab), hidden=4, layers=1, embedding=0)).eval()
    save_checkpoint(
        tmp_path / "model.pt", model, TrainSettings(epochs=1, batch_size=1, seq_len=4, lr=0.1), step=0, epoch=0
    )
    sampling = {"max_tokens": 100, "sampling": "spread", "skip": 50, "seed": 4}
    extract_states(
        tmp_path / "model.pt",
        text,
        tmp_path / "vocab.json",
        tmp_path / "states.parquet",
        model_name="m",
        chunk_len=64,
        **sampling,
    )
    label_split(text, "code", tmp_path / "labels.parquet", **sampling)
    states_positions = read_tokens(tmp_path / "states.parquet").column("position").to_numpy()
    labels, _ = read_labels(tmp_path / "labels.parquet")
    np.testing.assert_array_equal(labels["position"].to_numpy(), states_positions)
    assert len(states_positions) == 100 and states_positions.min() >= 50 and states_positions.max() > len(code) // 2
    whole, _ = label_text(code, "code")
    pd.testing.assert_frame_equal(
        labels.reset_index(drop=True), whole.iloc[states_positions].reset_index(drop=True), check_dtype=False
    )
