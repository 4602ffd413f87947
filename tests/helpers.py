"""Helpers shared by several test modules (pytest puts tests/ on sys.path: `pythonpath` in
pyproject.toml). No test module imports another test module; they import from here."""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import yaml

from rnnscope.downloads import sha256_of
from rnnscope.states import StatesInfo, StatesWriter

ROOT = Path(__file__).resolve().parents[1]
SHARED_MIRROR = ROOT.parent / "shared" / "mirror"
WORKFLOW_PARTS = ["Snakefile", "workflow", "scripts", "src", "config", "profiles"]


def mirror_folder() -> Path | None:
    """The dataset mirror: $RNNSCOPE_MIRROR, else ../shared/mirror beside the checkout, else None."""
    configured = os.environ.get("RNNSCOPE_MIRROR")
    if configured:
        return Path(configured)
    return SHARED_MIRROR if SHARED_MIRROR.is_dir() else None


def write_states(
    path: Path, token_ids: np.ndarray, states: np.ndarray, row_group_size: int = 7, sequences: np.ndarray | None = None
) -> None:
    """A states file with one ``l0_h`` column, written in two calls and small row groups; one
    stream unless ``sequences`` numbers each row's sequence."""
    info = StatesInfo("test", "lstm", 1, states.shape[1], ("h",))
    with StatesWriter(path, info, row_group_size=row_group_size) as writer:
        for part in np.array_split(np.arange(len(token_ids)), 2):
            ids = token_ids[part].astype(np.int32)
            tokens = {
                "position": part.astype(np.int64),
                "token_id": ids,
                "token": np.array([f"w{token_id}" for token_id in ids]),
                "next_token_id": np.zeros(len(part), np.int32),
                "logprob_next": np.zeros(len(part), np.float32),
                "pred_id": np.zeros(len(part), np.int32),
            }
            if sequences is not None:
                tokens["sequence"] = sequences[part].astype(np.int32)
            writer.write(tokens, {"l0_h": states[part]})


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table."""
    if "Nothing to be done" in output:
        return {}
    stats = output.split("Job stats:")[1]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.MULTILINE)
        if m.group(1) != "total"
    }


def shakespeare_mirror() -> Path | None:
    """$RNNSCOPE_MIRROR, else the shared mirror beside the checkout, if it holds Tiny Shakespeare."""
    for folder in (os.environ.get("RNNSCOPE_MIRROR"), SHARED_MIRROR):
        if folder and (Path(folder) / "tinyshakespeare" / "input.txt").exists():
            return Path(folder)
    return None


def shakespeare_source(tmp: Path) -> dict:
    """Tiny Shakespeare from the mirror when there is one, else a generated stand-in via file://."""
    mirror = shakespeare_mirror()
    if mirror:
        return {"mirror": str(mirror)}
    corpus = tmp / "corpus.txt"
    lines = [
        f'{"First" if i % 3 == 0 else "Second"} Citizen:\nWe are (all) resolved, "rather" to die than to famish.\n'
        for i in range(2000)
    ]
    corpus.write_text("".join(lines))
    return {"datasets": {"tinyshakespeare": {"url": corpus.as_uri(), "sha256": sha256_of(corpus)}}}


LINUX_FILE = """// SPDX-License-Identifier: GPL-2.0
/*
 * {name}.c - a "tiny" kernel-like file (it's generated).
 */
#include <linux/{name}.h>

static const char *{name}_msg = "/* not a comment */ %d\\n";

static int {name}_count(const char *s, int n)
{{
	int i, total = 0;

	for (i = 0; i < n; i++) {{
		if (s[i] == '\\'' || s[i] == '"') {{
			switch (s[i]) {{
			case '"':
				total += (n - i) * {number};
				break;
			}}
		}}
	}}
	return total; // done
}}
"""


def linux_source(tmp: Path) -> dict:
    """A tiny kernel-like tarball (members out of path order, non-C files, a folder outside
    include_dirs), fetched via file:// so the tarball kind runs the same with or without a mirror."""
    tarball = tmp / "linux-tiny.tar.xz"
    names = [f"kernel/f{i:03d}" for i in range(200, 0, -1)] + [f"fs/ext4/e{i}" for i in range(3)]
    with tarfile.open(tarball, "w:xz") as archive:
        members = [(f"{name}.c", LINUX_FILE.format(name=name.split("/")[-1], number=i)) for i, name in enumerate(names)]
        members += [("Makefile", "obj-y += kernel/\n"), ("drivers/skip.c", "int skipped;\n")]
        for path, text in members:
            info = tarfile.TarInfo(f"linux-6.1/{path}")
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return {
        "linux": {"url": tarball.as_uri(), "sha256": sha256_of(tarball), "mirror_path": None, "mirror_sha256": None}
    }


def ptb_source(tmp: Path) -> dict:
    """Generated PTB-like word files (sentences of a small grammar, <unk> included), via file://.

    Always generated: the real PTB would make the tiny DAG slow. No mirror_path, so a mirror
    configured for Tiny Shakespeare is not tried for these files.
    """
    rng = np.random.default_rng(0)
    nouns = ["cat", "dog", "market", "company", "stock", "price", "share", "bank", "<unk>"]
    verbs = ["rose", "fell", "said", "bought", "sold", "held"]
    others = ["the", "a", "of", "in", "N", "and", "to", "'s"]
    files = {}
    for split, lines in (("train", 400), ("valid", 60), ("test", 60)):
        text = "".join(
            " "
            + " ".join(
                [
                    *rng.choice(others, 2),
                    rng.choice(nouns),
                    rng.choice(verbs),
                    *rng.choice(others, 2),
                    rng.choice(nouns),
                ]
            )
            + " \n"
            for _ in range(lines)
        )
        path = tmp / f"ptb.{split}.txt"
        path.write_text(text)
        files[split] = {"url": path.as_uri(), "sha256": sha256_of(path), "mirror_path": None}
    return {"datasets": {"ptb": {"files": files}}}


def polarity_source(tmp: Path) -> dict:
    """Generated Yelp-like polarity files (sentiment words decide the label), via file://."""
    rng = np.random.default_rng(1)
    files = {}
    for name in ("sentiment.dev.0", "sentiment.dev.1", "sentiment.test.0", "sentiment.test.1"):
        words = ["bad", "rude", "cold", "slow"] if name.endswith(".0") else ["great", "friendly", "fresh", "fast"]
        text = "".join(
            f"the {rng.choice(['food', 'staff', 'service'])} was {rng.choice(words)} !\n" for _ in range(100)
        )
        path = tmp / name
        path.write_text(text)
        files[name] = {"url": path.as_uri(), "sha256": sha256_of(path), "mirror_path": None}
    return {"sentiment": {"files": files}}


# The source is chosen in source.yaml: the environment must not override it. As for a newcomer,
# nothing NLTK may have left on this machine is visible: no $NLTK_DATA and an empty home folder.
CLEAN_ENV = {key: value for key, value in os.environ.items() if key not in ("RNNSCOPE_MIRROR", "NLTK_DATA")} | {
    "PYTHONHASHSEED": "0",
    "HOME": tempfile.mkdtemp(prefix="empty-home-"),
}


def copy_workflow(work: Path) -> Path:
    """A copy of the workflow (so edits to its package modules stay local) with the tiny config."""
    for part in WORKFLOW_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, work / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(source, work / part)
    shutil.copy(ROOT / "tests" / "tiny_config.yaml", work / "tiny.yaml")
    source = shakespeare_source(work)
    source.setdefault("datasets", {}).update(linux_source(work))
    source["datasets"].update(ptb_source(work)["datasets"])
    source.update(polarity_source(work))
    (work / "source.yaml").write_text(yaml.safe_dump(source))
    return work
