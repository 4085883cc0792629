"""values.schema.json is strict, documented, agrees with values.yaml, and its serve_app
part is generated from serve_app's pydantic models (so the two never drift); every
value is documented in values.yaml, listed in the README and read by a template."""

from __future__ import annotations

import importlib.util
import json
import re
from typing import Any, Iterator

import pytest
import yaml

from serve_app.config import ModelConfig
from tests.support import chart_checks

from .chart import CHART_DIR

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
VALUES_TEXT = (CHART_DIR / "values.yaml").read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
README = (CHART_DIR / "README.md").read_text()
TEMPLATES = chart_checks.templates_text(CHART_DIR)
# Values the templates read in bulk (pass-through maps) rather than key by key.
READ_AS_A_WHOLE = {"models", "podSecurityContext", "containerSecurityContext", "tracing", "serveIngress.requestLimits"}


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_schema", CHART_DIR / "hack" / "gen-schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return {**SCHEMA["$defs"][ref.rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}} if ref else node


DOCUMENTED = chart_checks.documented_paths(VALUES_TEXT)


def sections(values: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(path, value, schema) of every values.yaml key, descending into maps the schema describes key by key."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        node = resolve(schema["properties"][key])
        yield path, value, node
        if isinstance(value, dict) and "properties" in node and path not in DOCUMENTED:
            yield from sections(value, node, f"{path}.")


def property_schemas(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema anywhere in a schema (properties, items, $defs, anyOf...)."""
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            yield f"{path}.{name}", prop
        for key, value in node.items():
            if key == "properties":
                for name, prop in value.items():
                    yield from property_schemas(prop, f"{path}.{name}")
            elif isinstance(value, (dict, list)):
                yield from property_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from property_schemas(item, f"{path}[{i}]")


def object_schemas(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from object_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from object_schemas(item, f"{path}[{i}]")


# --- Generated from serve_app -------------------------------------------------------


def test_generated_schema_parts_match_serve_app() -> None:
    generator = load_generator()
    assert generator.stale_parts(SCHEMA) == [], "run charts/kuberay-llm/hack/gen-schema.py"


def test_generated_template_helpers_match_serve_app() -> None:
    generator = load_generator()
    assert (CHART_DIR / "templates" / "_generated.tpl").read_text() == generator.helpers(), "run charts/kuberay-llm/hack/gen-schema.py"


def test_models_schema_covers_every_model_config_field_in_camel_case() -> None:
    generator = load_generator()
    properties = SCHEMA["properties"]["models"]["items"]["properties"]
    assert set(properties) == {generator.camel(name) for name in ModelConfig.model_fields}
    assert set(properties["engine"]["properties"]) == {generator.camel(n) for n in ModelConfig.model_fields["engine"].annotation.model_fields}


def test_drift_check_notices_a_hand_edit() -> None:
    """Guards the drift test: a changed constraint in the committed schema is reported."""
    generator = load_generator()
    edited = json.loads(json.dumps(SCHEMA))
    edited["properties"]["models"]["items"]["properties"]["engine"]["properties"]["tensorParallelSize"]["maximum"] = 8
    assert generator.stale_parts(edited) == ["properties/models/items"]


def test_camel_case_names_round_trip_to_serve_app_field_names() -> None:
    generator = load_generator()
    snake = re.compile(r"(?<!^)(?=[A-Z])")
    for name in ModelConfig.model_fields:
        assert snake.sub("_", generator.camel(name)).lower() == name


# --- Strict and documented ----------------------------------------------------------


def test_every_schema_object_rejects_unknown_keys() -> None:
    loose = [path for path, node in object_schemas(SCHEMA) if node.get("additionalProperties") is not False]
    assert loose == []


def test_every_schema_property_has_a_description() -> None:
    missing = [path for path, prop in property_schemas(SCHEMA) if not resolve(prop).get("description")]
    assert missing == []


def test_schema_and_values_yaml_list_the_same_keys() -> None:
    assert set(VALUES) == set(SCHEMA["properties"]) - {"global"}
    for path, value, node in sections(VALUES, SCHEMA):
        if isinstance(value, dict) and "properties" in node and path not in DOCUMENTED:
            assert set(value) == set(node["properties"]), path


def test_schema_defaults_match_values_yaml() -> None:
    for path, value, node in sections(VALUES, SCHEMA):
        if "default" in node:
            assert node["default"] == value, path


def test_every_value_is_documented_in_values_yaml() -> None:
    undocumented = [
        path for path, value, node in sections(VALUES, SCHEMA)
        if path not in DOCUMENTED and not (isinstance(value, dict) and "properties" in node)
    ]
    assert undocumented == []


def test_readme_lists_every_documented_value() -> None:
    missing = [path for path in sorted(DOCUMENTED) if f"| {path} |" not in README]
    assert missing == [], "regenerate README.md with helm-docs"


def test_readme_template_renders_the_values_table() -> None:
    chart_checks.assert_readme_renders_values_table(CHART_DIR)


@pytest.mark.parametrize("path", sorted(DOCUMENTED))
def test_every_value_is_read_by_a_template(path: str) -> None:
    if any(path == whole or path.startswith(f"{whole}.") for whole in READ_AS_A_WHOLE):
        return
    key = path.rsplit(".", 1)[-1]
    assert re.search(rf"\.{re.escape(key)}\b|\"{re.escape(key)}\"", TEMPLATES), f"no template reads {path}"
