"""The config schema (workflow/schemas/config.schema.yaml) as the one source of every setting's
range: each settings dataclass checks its fields against its section of the schema, so a value
the config validation would reject is rejected with the same rule when the dataclass is built
any other way (tests, scripts, a checkpoint's saved settings).

Apart from rnnscope.config_schema (the README table, removed keys) on purpose: the settings
modules import this one, so an edit here reruns every rule that trains, extracts or probes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
Json: TypeAlias = "str | int | float | bool | None | dict[str, Json] | list[Json]"
ENTRY = "<name>"  # an entry of a name-keyed map (models, datasets), spelled as in config/README.md


def load_schema(path: Path = SCHEMA) -> dict:
    return yaml.safe_load(path.read_text())


@functools.cache
def section_keys(section: str) -> dict[str, dict]:
    """The schema of each key of ``section``, a dotted path such as ``probe.mdl`` or
    ``models.<name>.train``."""
    node = load_schema()
    for part in section.split("."):
        node = node["additionalProperties"] if part == ENTRY else node["properties"][part]
    return node["properties"]


@functools.cache
def _key_validators(section: str) -> dict[str, Validator]:
    # Each key on its own: the section's `required` and `additionalProperties` speak of config
    # files, not of a dataclass that also holds fields the pipeline fills in.
    validator_class = validator_for(load_schema())
    return {key: validator_class(sub) for key, sub in section_keys(section).items()}


def check_settings(section: str, settings: DataclassInstance, derived: Collection[str] = ()) -> None:
    """Raise ValueError for every field of ``settings`` outside its range in the schema's
    ``section``, naming the config key, the value and the rule broken, e.g. ``config key
    probe.max_iter: 0 is less than the minimum of 1``. ``derived`` fields are filled in by the
    pipeline rather than the config, so the schema has no key for them."""
    validators = _key_validators(section)
    problems = []
    for field in dataclasses.fields(settings):
        if field.name in derived:
            continue
        for error in validators[field.name].iter_errors(_as_config(getattr(settings, field.name))):
            where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
            problems.append(f"config key {section}.{field.name}{where}: {error.message}")
    if problems:
        raise ValueError("; ".join(problems))


def _as_config(value: Any) -> Json:
    """``value`` as a config file spells it: frozen dataclasses hold tuples where YAML has lists,
    and a nested settings dataclass where YAML has a mapping."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _as_config(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: _as_config(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_as_config(item) for item in value]
    return value
