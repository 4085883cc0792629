#!/usr/bin/env python3
"""Generate the parts of values.schema.json that mirror serve_app's configuration.

serve_app.config is the single source of truth for what an application serves; the
chart's values carry the same structure in camelCase and the templates turn it back
into snake_case for serveConfigV2. So the schema of those values is generated from the
pydantic models instead of being written twice:

    properties.models.items                      <- ModelConfig
    properties.auth.properties.enabled/apiKeyEnv <- AuthConfig
    properties.serveIngress.properties.*         <- AppConfig.ingress_*, .request_limits
    properties.aliases, properties.prefillDecode, properties.tracing <- AppConfig.aliases, .prefill_decode, .tracing

and templates/_generated.tpl, which gives the templates the engine's first-class field
names (Helm keeps values.schema.json out of `.Files`). Everything else in
values.schema.json is maintained by hand. The render tests fail when a committed file
differs from what this script generates.

Usage (from anywhere, with the project's Python environment):
    charts/kuberay-llm/hack/gen-schema.py           # rewrite the generated parts
    charts/kuberay-llm/hack/gen-schema.py --check   # exit 1 if they are stale
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[1]
REPO = CHART.parents[1]
SCHEMA_FILE = CHART / "values.schema.json"
VALUES_FILE = CHART / "values.yaml"
HELPERS_FILE = CHART / "templates" / "_generated.tpl"

sys.path.insert(0, str(REPO))

from serve_app.config import AppConfig, AuthConfig, EngineConfig, ModelConfig  # noqa: E402

# Keys of a pydantic JSON schema that carry no validation or documentation value here.
DROPPED_KEYS = {"title"}
# AppConfig fields that live under another name in the chart's values.
APP_FIELDS = {
    ("serveIngress", "replicas"): "ingress_replicas",
    ("serveIngress", "maxOngoingRequests"): "ingress_max_ongoing_requests",
    ("serveIngress", "placement"): "ingress_placement",
    ("serveIngress", "requestLimits"): "request_limits",
}
AUTH_FIELDS = ("enabled", "api_key_env")
# AppConfig fields that are top-level values under their camelCase name, with the
# chart's default (values.yaml's; pydantic's default factories leave it out).
TOP_LEVEL_APP_FIELDS = {
    "aliases": [],
    "prefill_decode": None,
    "tracing": {"enabled": False, "otlpEndpoint": None, "serviceName": "serve-app", "sampleRatio": 1.0, "engineSpans": False},
}


def camel(name: str) -> str:
    """snake_case -> camelCase, the inverse of sprig's `snakecase` for these field names."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _field_names(schema: dict[str, Any]) -> set[str]:
    """Every snake_case property name anywhere in a pydantic schema (for rewriting descriptions)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.get("properties", {}).items():
                if "_" in key:
                    names.add(key)
                walk(value)
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return names


def _rewrite_text(text: str, names: set[str]) -> str:
    """Mention fields by their camelCase value names in descriptions."""
    if not names:
        return text
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    return pattern.sub(lambda m: camel(m.group(1)), text)


def _convert(node: Any, defs: dict[str, Any], names: set[str]) -> Any:
    """Inline $refs, camelCase property names, drop titles, rewrite descriptions."""
    if isinstance(node, list):
        return [_convert(item, defs, names) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs, names)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED_KEYS or key == "$defs":
            continue
        if key == "properties":
            out[key] = {camel(name): _convert(prop, defs, names) for name, prop in value.items()}
        elif key == "required":
            out[key] = [camel(name) for name in value]
        elif key == "description":
            out[key] = _rewrite_text(value, names)
        elif key == "patternProperties":
            out[key] = {pattern: _convert(sub, defs, names) for pattern, sub in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "allOf", "oneOf", "not"):
            out[key] = _convert(value, defs, names)
        else:
            out[key] = copy.deepcopy(value)
    if "patternProperties" in out:
        # pydantic constrains a dict's keys with patternProperties alone, which lets any
        # other key through the schema; close it so a bad key fails at `helm template`.
        out.setdefault("additionalProperties", False)
    return out


def model_item_schema() -> dict[str, Any]:
    """The JSON schema of one `models[]` entry: ModelConfig, camelCase, self-contained."""
    schema = ModelConfig.model_json_schema()
    item = _convert(schema, schema.get("$defs", {}), _field_names(schema))
    # The class docstring describes the entry as a whole.
    item["description"] = ModelConfig.__doc__.strip()
    return item


def _app_property(model: type, field: str) -> dict[str, Any]:
    schema = model.model_json_schema()
    return _convert(schema["properties"][field], schema.get("$defs", {}), _field_names(schema))


def _require_what_values_sets(fragment: dict[str, Any], default: Any) -> dict[str, Any]:
    """List as required every key the chart's values.yaml sets in this object, so that
    `--set key=null` (which makes Helm drop the key) fails naming it instead of leaving
    the templates without it. Keys values.yaml leaves null stay optional."""
    if isinstance(default, dict) and "properties" in fragment:
        fragment["required"] = [key for key in fragment["properties"] if default.get(key) is not None]
    return fragment


def generated_parts() -> dict[tuple[str, ...], dict[str, Any]]:
    """Every generated fragment, keyed by its path inside values.schema.json."""
    values = yaml.safe_load(VALUES_FILE.read_text())
    parts: dict[tuple[str, ...], dict[str, Any]] = {("properties", "models", "items"): model_item_schema()}
    for field in AUTH_FIELDS:
        parts[("properties", "auth", "properties", camel(field))] = _app_property(AuthConfig, field)
    for (section, key), field in APP_FIELDS.items():
        parts[("properties", section, "properties", key)] = _require_what_values_sets(_app_property(AppConfig, field), values[section][key])
    for field, default in TOP_LEVEL_APP_FIELDS.items():
        parts[("properties", camel(field))] = _require_what_values_sets({**_app_property(AppConfig, field), "default": default}, default)
    return parts


def _get(schema: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = schema
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def apply(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of the values schema with every generated part replaced."""
    out = copy.deepcopy(schema)
    for path, fragment in generated_parts().items():
        parent = out
        for key in path[:-1]:
            parent = parent.setdefault(key, {})
        parent[path[-1]] = fragment
    return out


def stale_parts(schema: dict[str, Any]) -> list[str]:
    """Paths whose committed fragment differs from the generated one."""
    return ["/".join(path) for path, fragment in generated_parts().items() if _get(schema, path) != fragment]


def dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def helpers() -> str:
    """templates/_generated.tpl: named templates derived from serve_app's config."""
    fields = [name for name in EngineConfig.model_fields if name != "extra"]
    names = sorted({*fields, *map(camel, fields)})
    return (
        "{{/* Generated by hack/gen-schema.py from serve_app.config: do not edit. */}}\n\n"
        "{{/* First-class engine fields of serve_app's EngineConfig (snake_case and camelCase), as a JSON list; engine.extra must not repeat them. */}}\n"
        '{{- define "kuberay-llm.engineFields" -}}\n'
        f"{json.dumps(names)}\n"
        "{{- end -}}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if values.schema.json is stale instead of rewriting it")
    args = parser.parse_args()
    schema = json.loads(SCHEMA_FILE.read_text())
    if args.check:
        stale = stale_parts(schema)
        if HELPERS_FILE.read_text() != helpers():
            stale.append(str(HELPERS_FILE.relative_to(CHART)))
        if stale:
            print(f"{SCHEMA_FILE} is stale in: {', '.join(stale)}; run {Path(__file__).relative_to(REPO)}", file=sys.stderr)
            return 1
        return 0
    SCHEMA_FILE.write_text(dump(apply(schema)))
    HELPERS_FILE.write_text(helpers())
    print(f"wrote {SCHEMA_FILE.relative_to(REPO)} and {HELPERS_FILE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
