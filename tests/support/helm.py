"""Render charts with the pinned helm and return parsed manifests or the error text."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from .tools import REPO, tool, versions

CHARTS = REPO / "charts"
PRESETS = REPO / "values"


def kube_version() -> str:
    return versions()["KUBERNETES_VERSION"]


@dataclass
class Rendered:
    """All objects a chart rendered, with lookups by kind and name."""

    docs: list[dict[str, Any]]

    def kinds(self) -> list[str]:
        return sorted({d["kind"] for d in self.docs})

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {[d['metadata']['name'] for d in found]}"
        return found[0]


def _args(
    chart: str | Path,
    values: Iterable[str | Path] = (),
    set_json: dict[str, Any] | None = None,
    release: str = "test",
    namespace: str = "llm",
    api_versions: Iterable[str] = (),
) -> list[str]:
    args = [
        tool("helm"),
        "template",
        release,
        str(CHARTS / chart if isinstance(chart, str) else chart),
        "--namespace",
        namespace,
        "--kube-version",
        kube_version(),
    ]
    for v in values:
        args += ["--values", str(v)]
    for key, value in (set_json or {}).items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    for api in api_versions:
        args += ["--api-versions", api]
    return args


def template_process(chart: str | Path, values: Iterable[str | Path] = (), set_json: dict[str, Any] | None = None, **kw: Any) -> subprocess.CompletedProcess:
    """`helm template` as it ran, whatever its outcome."""
    return subprocess.run(_args(chart, values, set_json, **kw), capture_output=True, text=True)


def template(chart: str | Path, values: Iterable[str | Path] = (), set_json: dict[str, Any] | None = None, **kw: Any) -> Rendered:
    """`helm template` the chart; fail the test with helm's message if it does not render."""
    proc = subprocess.run(_args(chart, values, set_json, **kw), capture_output=True, text=True)
    assert proc.returncode == 0, f"helm template failed:\n{proc.stderr}"
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return Rendered(docs)


def template_error(chart: str | Path, values: Iterable[str | Path] = (), set_json: dict[str, Any] | None = None, **kw: Any) -> str:
    """`helm template` that must fail; returns helm's error text."""
    proc = subprocess.run(_args(chart, values, set_json, **kw), capture_output=True, text=True)
    assert proc.returncode != 0, "helm template accepted values that should have been rejected"
    return proc.stderr


def template_text(chart: str | Path, values: Iterable[str | Path] = (), **kw: Any) -> str:
    proc = subprocess.run(_args(chart, values, **kw), capture_output=True, text=True)
    assert proc.returncode == 0, f"helm template failed:\n{proc.stderr}"
    return proc.stdout


def lint(chart: str | Path, values: Iterable[str | Path] = ()) -> subprocess.CompletedProcess:
    args = [tool("helm"), "lint", "--strict", str(CHARTS / chart if isinstance(chart, str) else chart), "--kube-version", kube_version()]
    for v in values:
        args += ["--values", str(v)]
    return subprocess.run(args, capture_output=True, text=True)


def presets(chart: str) -> list[Path]:
    """The user-facing presets of one chart: values/<chart>/*.yaml."""
    return sorted((PRESETS / chart).glob("*.yaml"))


def ci_values(chart: str) -> list[Path]:
    """The chart's scenario values: charts/<chart>/ci/*-values.yaml."""
    return sorted((CHARTS / chart / "ci").glob("*-values.yaml"))


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())
