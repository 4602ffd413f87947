"""The config schema documents itself: every key has a description and a default, the README
table is current, and the default and paper configs validate."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

from rnnscope.config_schema import (
    README,
    ROOT,
    SCHEMA,
    TABLE_START,
    iter_keys,
    load_schema,
    render_table,
)
from rnnscope.probes import MDL_PORTIONS


def test_every_key_has_description_and_default() -> None:
    missing = [key for key, sub in iter_keys(load_schema()) if "description" not in sub or "default" not in sub]
    assert missing == []


def test_readme_table_is_current() -> None:
    table = README.read_text().split(TABLE_START)[1].strip()
    assert table == render_table(load_schema()).strip(), "run: python -m rnnscope.config_schema"


@pytest.mark.parametrize("overlay", [None, "paper.yaml"])
def test_shipped_configs_validate(overlay: str | None) -> None:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    if overlay:
        update_config(config, yaml.safe_load((ROOT / "config" / overlay).read_text()))
    validate(config, str(SCHEMA))
    assert config["probe"]["weightings"] == ["plain", "balanced"]


def test_defaults_are_filled_in_nested_entries() -> None:
    config = {"models": {"m": {"dataset": "d"}}, "datasets": {"d": {"kind": "text", "path": "x.txt"}}}
    validate(config, str(SCHEMA))
    assert config["models"]["m"]["train"]["optimizer"] == "adam"
    assert config["models"]["m"]["model"]["cell"] == "lstm"
    assert config["datasets"]["d"]["split"] == [0.9, 0.05, 0.05]
    assert config["probe"]["mdl"] == {"enabled": True, "portions": list(MDL_PORTIONS)}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda c: c["probe"].update(max_iters=3), "max_iters"),
        (lambda c: c["models"]["srn_anbn"]["model"].update(cell="transformer"), "transformer"),
        (lambda c: c["models"]["srn_anbn"]["train"].update(lr=-1), "-1"),
    ],
)
def test_bad_keys_and_values_are_named(change, named: str) -> None:
    config = copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    change(config)
    with pytest.raises(WorkflowError, match=named):
        validate(config, str(SCHEMA))
