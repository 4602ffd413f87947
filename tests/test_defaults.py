"""The schema is the one source of defaults and ranges: a settings dataclass that gives a field a
default gives the schema's, names only keys the schema documents, and rejects every value the
schema's rules reject, naming the config key."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema.validators import validator_for

from rnnscope.downloads import Source
from rnnscope.erasure import ErasureSettings
from rnnscope.generate import GenerateSettings
from rnnscope.models import ModelConfig
from rnnscope.neurons import ABLATABLE_KINDS, NeuronSettings
from rnnscope.probes import CLASS_WEIGHTS, MdlSettings, ProbeSettings
from rnnscope.rankings import RANKINGS, ElasticNetSettings, RankingSettings
from rnnscope.schema import load_schema, section_keys
from rnnscope.train import TrainSettings

# Dataclass -> its config section (as config/README.md spells it) and the fields the pipeline
# fills in itself rather than from the config, with a valid value.
SECTIONS: dict[type, tuple[str, dict[str, object]]] = {
    TrainSettings: ("models.<name>.train", {}),
    ModelConfig: ("models.<name>.model", {"vocab_size": 3, "classes": 0}),  # classes: set by rnnscope.sentiment
    ProbeSettings: ("probe", {}),
    MdlSettings: ("probe.mdl", {}),  # ProbeSettings.mdl: a nested section, checked as its own
    GenerateSettings: ("generate", {}),
    NeuronSettings: ("neurons", {}),
    ErasureSettings: ("erasure", {}),
    RankingSettings: ("rankings", {}),
    ElasticNetSettings: ("rankings.elastic_net", {}),  # RankingSettings.elastic_net
    Source: ("datasets.<name>", {}),  # rule download passes url, sha256, mirror_path, mirror_sha256
}


def field_default(field: dataclasses.Field) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


@pytest.mark.parametrize("settings", list(SECTIONS), ids=lambda cls: cls.__name__)
def test_dataclass_defaults_are_the_schema_defaults(settings: type) -> None:
    section, derived = SECTIONS[settings]
    keys = section_keys(section)
    fields = [field for field in dataclasses.fields(settings) if field.name not in derived]
    undocumented = [field.name for field in fields if field.name not in keys]
    assert not undocumented, f"{settings.__name__} fields {undocumented} are not keys of {section} in the schema"
    drifted = {
        field.name: (field_default(field), keys[field.name]["default"])
        for field in fields
        if field_default(field) is not dataclasses.MISSING
        and _normalised(field_default(field)) != _normalised(keys[field.name]["default"])
    }
    assert not drifted, f"{settings.__name__} defaults (dataclass, schema) differ: {drifted}"


def _normalised(value: object) -> object:
    """Tuples in dataclasses are lists in YAML. A nested settings dataclass (a section of its own in
    SECTIONS) is the schema's ``{}``: validation fills that section from its own keys' defaults."""
    if dataclasses.is_dataclass(value) and type(value) in SECTIONS:
        return {}
    return list(value) if isinstance(value, tuple) else value


# A value breaking each kind of rule, given the rule's bound and the key's default. Types are not
# varied: some __post_init__ convert a field (tuple(), float()) before checking it.
VIOLATIONS: dict[str, Callable[[Any, Any], object]] = {
    "minimum": lambda bound, default: bound - 1,
    "exclusiveMinimum": lambda bound, default: bound,
    "maximum": lambda bound, default: bound + 1,
    "exclusiveMaximum": lambda bound, default: bound,
    "enum": lambda allowed, default: "<none of these>",
    "minLength": lambda length, default: "x" * (length - 1),
    "minItems": lambda count, default: default[: count - 1],
    "pattern": lambda pattern, default: "<no match>",
}
# A nested section's properties are checked as a section of its own (MdlSettings, ElasticNetSettings).
NOT_RULES = {"description", "default", "type", "items", "properties", "additionalProperties"}


def schema_rules() -> list:
    """A case (dataclass, key within its section, rule, a value breaking it) for every rule of
    every key of every section, and of each key's list items, read from the schema itself."""
    cases = []
    for settings, (section, derived) in SECTIONS.items():
        keys = section_keys(section)
        for field in dataclasses.fields(settings):
            if field.name in derived:
                continue
            sub = keys[field.name]
            for key, rules, wrap in [
                (field.name, sub, lambda value: value),
                (f"{field.name}[0]", sub.get("items", {}), lambda value: [value]),
            ]:
                unknown = set(rules) - NOT_RULES - set(VIOLATIONS)
                assert not unknown, f"{section}.{key}: teach VIOLATIONS the rules {unknown}"
                cases += [
                    pytest.param(
                        settings,
                        key,
                        rule,
                        wrap(VIOLATIONS[rule](rules[rule], sub["default"])),
                        id=f"{section}.{key}-{rule}",
                    )
                    for rule in sorted(set(rules) & set(VIOLATIONS))
                ]
    return cases


@pytest.mark.parametrize(("settings", "key", "rule", "value"), schema_rules())
def test_dataclasses_reject_what_the_schema_rejects(settings: type, key: str, rule: str, value: object) -> None:
    section, derived = SECTIONS[settings]
    keys = section_keys(section)
    name = key.split("[")[0]
    assert not validator_for(load_schema())(keys[name]).is_valid(value), f"{value!r} does not break {rule}"
    valid = {
        field.name: keys[field.name]["default"] for field in dataclasses.fields(settings) if field.name not in derived
    }
    valid |= derived
    settings(**valid)  # the schema's defaults pass
    with pytest.raises(ValueError, match=rf"config key {re.escape(f'{section}.{key}')}: "):
        settings(**valid | {name: value})


def test_code_tables_name_the_schema_enums() -> None:
    """Tables keyed by an enum's values hold every value the schema allows, and no other."""
    assert list(CLASS_WEIGHTS) == section_keys("probe")["weightings"]["items"]["enum"]
    assert list(ABLATABLE_KINDS) == section_keys("neurons")["kinds"]["items"]["enum"]
    assert list(RANKINGS) == section_keys("rankings")["methods"]["items"]["enum"]
