"""The per-rule summary of Snakemake's benchmark files."""

from pathlib import Path

import pandas as pd
import pytest

from rnnscope.tables import benchmark_summary

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(path: Path, seconds: float, rss: str, cpu: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_sums_jobs_per_rule_and_keeps_the_peak_memory(tmp_path: Path) -> None:
    write_benchmark(tmp_path / "train" / "a.tsv", 10.0, "300.5", 18.0)
    write_benchmark(tmp_path / "train" / "b.tsv", 5.0, "410.0", 9.0)
    write_benchmark(tmp_path / "perplexity_table.tsv", 1.5, "-", 1.0)  # too quick to sample memory
    table = benchmark_summary(tmp_path, tmp_path / "out.csv").set_index("rule")
    assert table.loc["train", "jobs"] == 2
    assert table.loc["train", "wall_s"] == pytest.approx(15.0)
    assert table.loc["train", "cpu_s"] == pytest.approx(27.0)
    assert table.loc["train", "max_rss_mb"] == pytest.approx(410.0)
    assert pd.isna(table.loc["perplexity_table", "max_rss_mb"])
    assert table.loc["total", "wall_s"] == pytest.approx(16.5)
    assert table.loc["total", "jobs"] == 3
    assert (tmp_path / "out.md").read_text().startswith("Per-rule totals")


def test_no_benchmarks_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the pipeline first"):
        benchmark_summary(tmp_path, tmp_path / "out.csv")
