"""Publishing a run's tables into a committed folder, stamped with commit and configs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from rnnscope.publish import publish


def test_publish_copies_tables_and_stamps_commit_and_configs(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (
        ["init", "-q"],
        ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    tables = tmp_path / "results" / "tables"
    tables.mkdir(parents=True)
    pd.DataFrame({"model": ["m"], "test_ppl": [114.0]}).to_csv(tables / "ptb_perplexity.csv", index=False)
    (tables / "ptb_perplexity.md").write_text("caption\n")
    pd.DataFrame({"rule": ["train", "total"], "jobs": [2, 2], "wall_s": [90.0, 120.0]}).to_csv(
        tables / "benchmarks.csv", index=False
    )
    (tables / "not_published.csv").write_text("x\n1\n")
    (tmp_path / "results" / "rnnvis" / "m").mkdir(parents=True)
    (tmp_path / "results" / "rnnvis" / "m" / "main_view.png").write_bytes(b"png")
    written = publish(
        tmp_path / "results",
        tmp_path / "out",
        ["config/config.yaml", "config/reproduce.yaml"],
        root=repo,
        figures=["rnnvis/m/main_view.png"],
        wall_time="2 h 1 min",
    )
    names = sorted(path.name for path in written)
    assert names == [
        "README.md",
        "benchmarks.csv",
        "ptb_perplexity.csv",
        "ptb_perplexity.md",
        "rnnvis__m__main_view.png",
    ]
    assert (tmp_path / "out" / "figures" / "rnnvis__m__main_view.png").read_bytes() == b"png"
    readme = (tmp_path / "out" / "README.md").read_text()
    assert f"commit: `{commit}`" in readme and "`config/reproduce.yaml`" in readme
    assert "jobs: 2, summed job wall time 2.0 min" in readme and "wall time of the whole run: 2 h 1 min" in readme
    assert "(figures/rnnvis__m__main_view.png)" in readme
    assert pd.read_csv(tmp_path / "out" / "ptb_perplexity.csv")["test_ppl"].tolist() == [114.0]


def test_publish_without_a_run_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the pipeline first"):
        publish(tmp_path / "results", tmp_path / "out", ["c.yaml"], root=tmp_path)


def test_a_missing_figure_is_named(tmp_path: Path) -> None:
    (tmp_path / "results" / "tables").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="nope.png does not exist"):
        publish(tmp_path / "results", tmp_path / "out", ["c.yaml"], root=tmp_path, figures=["nope.png"])
