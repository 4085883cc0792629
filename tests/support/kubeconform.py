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

from .tools import crds_dir, tool, versions


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
        for doc in yaml.safe_load_all(path.read_text()):
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
    import kubernetes_validate

    minor = versions()["KUBERNETES_VERSION"].lstrip("v").rsplit(".", 1)[0]
    path = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{minor}.0-local-strict"
    if not path.is_dir():
        raise FileNotFoundError(f"kubernetes-validate has no schemas for Kubernetes v{minor}: {path}")
    return path


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
