"""The DAG through a real Slurm (profiles/slurm). Runs where `sinfo` answers, e.g. after
`../shared/tools/local-slurm up` (which .ci/run does); skipped elsewhere, saying why."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import CLEAN_ENV, copy_workflow, planned_jobs

ROOT = Path(__file__).resolve().parents[1]
# Every stage from download to probes (on rows spread over the splits) and the seed-000 analysis,
# on the tiny config: 14 jobs (a Slurm job costs ~20 s here, so no more than covers each stage).
TARGETS = [
    "results/probes/srn_anbn/metrics.csv",
    "results/counting/srn_anbn/per_n.csv",
    "results/data/tinyshakespeare/train.txt",
]

pytestmark = pytest.mark.slurm


def slurm_is_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    result = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return result.returncode == 0 and any(state.startswith(("idle", "mix")) for state in result.stdout.split())


@pytest.mark.skipif(not slurm_is_up(), reason="no Slurm here: run ../shared/tools/local-slurm up (as root) first")
def test_dag_runs_through_slurm_and_a_second_run_does_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = copy_workflow(tmp_path)
    command = [
        sys.executable,
        "-m",
        "snakemake",
        *TARGETS,
        "--profile",
        "profiles/slurm",
        "--configfile",
        "tiny.yaml",
        "source.yaml",
    ]
    planned = sum(
        planned_jobs(
            subprocess.run([*command, "-n"], cwd=work, capture_output=True, text=True, env=CLEAN_ENV).stdout
        ).values()
    )
    assert planned == 14
    first = subprocess.run(command, cwd=work, capture_output=True, text=True, env=CLEAN_ENV)
    output = first.stdout + first.stderr
    assert first.returncode == 0, output[-6000:]
    slurm_ids = [int(i) for i in re.findall(r"has been submitted with SLURM jobid (\d+)", output)]
    finished = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", output)
    assert len(slurm_ids) == len(finished) == planned, output[-3000:]
    # Slurm itself knows the jobs. local-slurm shows a finished job for 5 minutes and the run takes
    # about that long, so the earliest may be gone: every job still shown is COMPLETED, the last included.
    states = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i %T"], capture_output=True, text=True, check=True)
    known = {
        int(line.split()[0]): line.split()[1]
        for line in states.stdout.splitlines()
        if int(line.split()[0]) in slurm_ids
    }
    assert slurm_ids[-1] in known and set(known.values()) == {"COMPLETED"}, states.stdout
    assert (work / "results/counting/srn_anbn/per_n.csv").exists() and (
        work / "results/data/tinyshakespeare/train.txt"
    ).exists()
    for slurm_id in slurm_ids[:3]:
        assert list((work / ".snakemake/slurm_logs").rglob(f"{slurm_id}.log")), f"no Slurm log for job {slurm_id}"
    with capsys.disabled():  # into the CI log, passed or not
        submitted = re.findall(r"SLURM jobid (\d+) \(log: \S*/rule_(\w+)/", output)
        print("\nSlurm jobs: " + ", ".join(f"{slurm_id} {rule}" for slurm_id, rule in submitted))

    second = subprocess.run(command, cwd=work, capture_output=True, text=True, env=CLEAN_ENV)
    assert second.returncode == 0 and "submitted with SLURM jobid" not in second.stdout + second.stderr
    assert (
        planned_jobs(subprocess.run([*command, "-n"], cwd=work, capture_output=True, text=True, env=CLEAN_ENV).stdout)
        == {}
    )
