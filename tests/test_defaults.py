"""The schema is the one source of defaults: a settings dataclass that gives a field a default
gives the schema's, and names only keys the schema documents."""

from __future__ import annotations

import dataclasses

import pytest

from rnnscope.config_schema import load_schema
from rnnscope.downloads import Source
from rnnscope.generate import GenerateSettings
from rnnscope.models import ModelConfig
from rnnscope.neurons import NeuronSettings
from rnnscope.probes import MdlSettings, ProbeSettings
from rnnscope.train import TrainSettings

# Dataclass -> its config section ("*" is a model name) and the fields the pipeline fills in
# itself rather than from the config.
SECTIONS = {
    TrainSettings: (("models", "*", "train"), set()),
    ModelConfig: (("models", "*", "model"), {"vocab_size", "classes"}),  # classes: set by rnnscope.sentiment
    ProbeSettings: (("probe",), set()),
    MdlSettings: (("probe", "mdl"), set()),  # ProbeSettings.mdl: a nested section, checked as its own
    GenerateSettings: (("generate",), set()),
    NeuronSettings: (("neurons",), set()),
    Source: (("datasets", "*"), set()),  # rule download passes url, sha256, mirror_path, mirror_sha256
}


def schema_section(path: tuple[str, ...]) -> dict:
    node = load_schema()
    for part in path:
        node = node["additionalProperties"] if part == "*" else node["properties"][part]
    return node["properties"]


def field_default(field: dataclasses.Field) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


@pytest.mark.parametrize("settings", list(SECTIONS), ids=lambda cls: cls.__name__)
def test_dataclass_defaults_are_the_schema_defaults(settings: type) -> None:
    path, derived = SECTIONS[settings]
    keys = schema_section(path)
    fields = [field for field in dataclasses.fields(settings) if field.name not in derived]
    undocumented = [field.name for field in fields if field.name not in keys]
    assert not undocumented, f"{settings.__name__} fields {undocumented} are not keys of {'.'.join(path)} in the schema"
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
