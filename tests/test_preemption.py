"""Preemption-safe training: SIGTERM checkpoints and exits for a retry; a run killed at a random
step resumes to exactly the weights of an uninterrupted run; corrupt checkpoints are caught."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnscope.data import prepare_dataset
from rnnscope.models import CorruptCheckpoint, load_model, resolve_device
from rnnscope.train import PREEMPTED_EXIT_CODE

MODEL = {"cell": "lstm", "hidden": 24, "layers": 2, "dropout": 0.1}
SETTINGS = {"epochs": 3, "batch_size": 4, "seq_len": 16, "lr": 0.01, "seed": 3, "checkpoint_every_steps": 1}
RUNNER = """
import json, sys
from rnnscope.logs import configure_logging
from rnnscope.train import TrainSettings, train_language_model
configure_logging(sys.argv[2] + "/train.log")
train_language_model(sys.argv[1], json.loads(sys.argv[3]), TrainSettings(**json.loads(sys.argv[4])),
                     sys.argv[2] + "/model.pt", sys.argv[2] + "/metrics.json", sys.argv[2] + "/history.csv", "m")
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    corpus = folder / "corpus.txt"
    corpus.write_text("".join(f"line {i % 7}: (the {'Quick' if i % 3 else 'slow'} fox)\n" for i in range(300)))
    prepare_dataset({"kind": "text", "split": [0.8, 0.1, 0.1]}, [str(corpus)], folder)
    return folder


def start(data_dir: Path, out: Path, settings: dict = SETTINGS) -> subprocess.Popen[str]:
    out.mkdir(exist_ok=True)
    command = [sys.executable, "-c", RUNNER, str(data_dir), str(out), json.dumps(MODEL), json.dumps(settings)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen[str], timeout: float) -> int:
    """Exit status, once the runner has ended and its output pipe is read and closed (a pipe left
    open is a ResourceWarning, an error under the strict warning filter). The output is printed,
    so pytest shows it when the test fails."""
    output, _ = process.communicate(timeout=timeout)
    print(output)
    return process.returncode


def wait_for_step(out: Path, process: subprocess.Popen[str], min_step: int) -> None:
    """Until resume.pt holds at least ``min_step`` steps (it is rewritten atomically every step)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        resume = out / "resume.pt"
        if resume.exists():
            try:
                if torch.load(resume, weights_only=False)["step"] >= min_step:
                    return
            except (RuntimeError, EOFError, FileNotFoundError):
                pass  # replaced while reading
        time.sleep(0.05)
    raise AssertionError(f"training did not reach step {min_step}")


def final_state(out: Path) -> tuple[dict, dict]:
    model, _ = load_model(out / "model.pt")
    return model.state_dict(), json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    out = tmp_path_factory.mktemp("uninterrupted")
    assert finish(start(data_dir, out), 120) == 0
    return final_state(out)


def assert_same_run(out: Path, uninterrupted: tuple[dict, dict]) -> None:
    state, metrics = final_state(out)
    reference_state, reference_metrics = uninterrupted
    assert all(torch.equal(state[name], reference_state[name]) for name in reference_state)
    assert metrics["splits"] == reference_metrics["splits"]
    assert metrics["steps"] == reference_metrics["steps"]


def test_sigterm_checkpoints_exits_for_retry_and_resumes_identically(
    data_dir: Path, tmp_path: Path, uninterrupted
) -> None:
    process = start(data_dir, tmp_path)
    wait_for_step(tmp_path, process, 5)
    process.send_signal(signal.SIGTERM)
    assert finish(process, 60) == PREEMPTED_EXIT_CODE
    resume = torch.load(tmp_path / "resume.pt", weights_only=False)
    assert resume["in_epoch"] is not None and not (tmp_path / "model.pt").exists()
    assert "received SIGTERM" in (tmp_path / "train.log").read_text()
    assert finish(start(data_dir, tmp_path), 120) == 0
    assert "resuming m restart 0 from epoch" in (tmp_path / "train.log").read_text()
    assert_same_run(tmp_path, uninterrupted)


def test_kill_at_a_random_step_then_resume_equals_uninterrupted(data_dir: Path, tmp_path: Path, uninterrupted) -> None:
    steps = uninterrupted[1]["steps"]
    kill_after = random.Random().randint(2, steps - 2)
    process = start(data_dir, tmp_path)
    wait_for_step(tmp_path, process, kill_after)
    process.kill()
    finish(process, 30)
    assert finish(start(data_dir, tmp_path), 120) == 0, f"resume after kill at step >= {kill_after} failed"
    assert_same_run(tmp_path, uninterrupted)


def test_corrupt_resume_checkpoint_is_detected_and_training_starts_over(
    data_dir: Path, tmp_path: Path, uninterrupted
) -> None:
    process = start(data_dir, tmp_path)
    wait_for_step(tmp_path, process, 3)
    process.kill()
    finish(process, 30)
    resume = tmp_path / "resume.pt"
    resume.write_bytes(resume.read_bytes()[: resume.stat().st_size // 2])
    assert finish(start(data_dir, tmp_path), 120) == 0
    assert "is corrupt or truncated" in (tmp_path / "train.log").read_text()
    assert_same_run(tmp_path, uninterrupted)


def test_corrupt_model_checkpoint_is_an_error_not_a_silent_load(tmp_path: Path) -> None:
    broken = tmp_path / "model.pt"
    broken.write_bytes(b"PK\x03\x04 not really a checkpoint")
    with pytest.raises(CorruptCheckpoint, match="corrupt or truncated.*rerun its train job"):
        load_model(broken)


def test_device_selection_on_a_cpu_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
