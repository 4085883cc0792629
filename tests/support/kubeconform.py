"""Validate rendered manifests with kubeconform, offline and strict.

Kubernetes schemas come from the kubernetes-validate package (it bundles the
OpenAPI-derived JSON schemas per minor version). CRD schemas are generated here from
the pinned operators' CRD manifests (ci/bootstrap copies them out of the Go modules),
so a ServiceMonitor, ScaledObject, HTTPRoute or RayService is checked against exactly
the version we pin, with unknown fields rejected.
"""

from __future__ import annotations

import copy
import json
import subprocess
from functools import cache
from pathlib import Path

import yaml

from .tools import cache_dir, crds_dir, tool, versions


class CRDLoader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.1's `=` value tag (AlertmanagerConfig's enum has `- =`)."""


CRDLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)


def _strict(schema: dict) -> dict:
    """Reject unknown fields wherever the CRD does not explicitly allow them."""
    s = copy.deepcopy(schema)

    def walk(node: dict) -> None:
        if not isinstance(node, dict):
            return
        props = node.get("properties")
        if (
            node.get("type") == "object"
            and props
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for value in (props or {}).values():
            walk(value)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                walk(node[key])
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key, []):
                walk(sub)

    walk(s)
    return s


@cache
def crd_schema_dir() -> Path:
    """Write one JSON schema per CRD version: <group>/<kind>_<version>.json (lowercase)."""
    src = crds_dir()
    out = src / "jsonschema"
    stamp = out / ".complete"
    if stamp.is_file():
        return out
    out.mkdir(exist_ok=True)
    for path in sorted(src.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=CRDLoader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            group, kind = spec["group"], spec["names"]["kind"].lower()
            for version in spec["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if not schema:
                    continue
                target = out / group / f"{kind}_{version['name']}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(_strict(schema)))
    stamp.touch()
    return out


@cache
def kubernetes_schema_dir() -> Path:
    """An offline copy of kubernetes-validate's strict schemas for the pinned minor.

    The packaged files carry an https ``$id`` and reference ``/api/_definitions.json``;
    kubeconform resolves that against the ``$id`` over the network and, offline, finds
    no schema at all. The copy drops ``$id`` and makes the reference relative.
    """
    import kubernetes_validate

    minor = versions()["KUBERNETES_VERSION"].lstrip("v").rsplit(".", 1)[0]
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{minor}.0-local-strict"
    if not source.is_dir():
        raise FileNotFoundError(f"kubernetes-validate has no schemas for Kubernetes v{minor}: {source}")
    target = cache_dir() / "schemas" / f"kubernetes-validate-{kubernetes_validate.__version__}-v{minor}-strict"
    stamp = target / ".complete"
    if stamp.is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.json"):
        schema = json.loads(path.read_text())
        schema.pop("$id", None)
        text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
        (target / path.name).write_text(text)
    stamp.touch()
    return target


def validate(manifests: str) -> subprocess.CompletedProcess:
    """Run kubeconform -strict on a multi-document YAML string; never skips a kind."""
    return subprocess.run(
        [
            tool("kubeconform"),
            "-strict",
            "-summary",
            "-output",
            "text",
            "-schema-location",
            str(kubernetes_schema_dir()) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
            "-schema-location",
            str(crd_schema_dir()) + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
    )
