"""What the kuberay-llm render tests share: names, value sets and cached renders."""

from __future__ import annotations

import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

from tests.support import helm
from tests.support.chart_checks import values_args  # noqa: F401  (the suite imports it from here)
from tests.support.tools import tool

CHART = "kuberay-llm"
CHART_DIR = helm.CHARTS / CHART
RELEASE = "test"
NAMESPACE = "llm"
FULLNAME = f"{RELEASE}-{CHART}"

PRESETS = helm.presets(CHART)
SCENARIOS = helm.ci_values(CHART)
# None: the chart's own values.yaml only.
VALUE_SETS: list[Path | None] = [None, *SCENARIOS, *PRESETS]
VALUE_SET_IDS = ["defaults", *(f"ci/{p.name}" for p in SCENARIOS), *(f"values/{p.name}" for p in PRESETS)]

CPU_SCENARIO = CHART_DIR / "ci" / "01-cpu-tiny-values.yaml"
EXISTING_SECRETS_SCENARIO = CHART_DIR / "ci" / "02-fixed-size-existing-secrets-values.yaml"
EVERYTHING_SCENARIO = CHART_DIR / "ci" / "99-everything-values.yaml"
PRESET_DIR = helm.PRESETS / CHART

# Ray's ports as the chart pins them (ray start parameter -> port).
RAY_PORTS = {
    "port": 6379,
    "ray-client-server-port": 10001,
    "dashboard-port": 8265,
    "dashboard-agent-listen-port": 52365,
    "dashboard-agent-grpc-port": 52366,
    "metrics-export-port": 8080,
    "node-manager-port": 6380,
    "object-manager-port": 6381,
    "runtime-env-agent-port": 6382,
    "min-worker-port": 10002,
    "max-worker-port": 19999,
}
SERVE_PORT = 8000
METRICS_PORT = 8080
DASHBOARD_PORT = 8265


@lru_cache(maxsize=None)
def _render(values: tuple[str, ...], set_json: str) -> helm.Rendered:
    return helm.template(CHART, values, json.loads(set_json), release=RELEASE, namespace=NAMESPACE)


def render(values: Iterable[Path | str] = (), set_json: dict[str, Any] | None = None) -> helm.Rendered:
    """`helm template` of the chart (cached per arguments; do not mutate the result)."""
    return _render(tuple(str(v) for v in values), json.dumps(set_json or {}, sort_keys=True))


def render_error(values: Iterable[Path | str] = (), set_json: dict[str, Any] | None = None) -> str:
    """helm's error text for values the chart must reject."""
    return helm.template_error(CHART, list(values), set_json, release=RELEASE, namespace=NAMESPACE)


def render_text(values: Iterable[Path | str] = ()) -> str:
    return helm.template_text(CHART, list(values), release=RELEASE, namespace=NAMESPACE)


def notes(values: Iterable[Path | str] = (), set_json: dict[str, Any] | None = None) -> str:
    """NOTES.txt as `helm install` prints it (client-side dry run, no cluster)."""
    args = [tool("helm"), "install", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE, "--dry-run=client"]
    for v in values:
        args += ["--values", str(v)]
    for key, value in (set_json or {}).items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("NOTES:", 1)[1]


def rayservice(rendered: helm.Rendered) -> dict[str, Any]:
    return rendered.one("RayService")


def cluster(rendered: helm.Rendered) -> dict[str, Any]:
    return rayservice(rendered)["spec"]["rayClusterConfig"]


def head(rendered: helm.Rendered) -> dict[str, Any]:
    return cluster(rendered)["headGroupSpec"]


def worker_groups(rendered: helm.Rendered) -> dict[str, dict[str, Any]]:
    return {g["groupName"]: g for g in cluster(rendered)["workerGroupSpecs"]}


def ray_pod_specs(rendered: helm.Rendered) -> dict[str, dict[str, Any]]:
    """Pod specs of the head ("head") and of every worker group (by group name)."""
    specs = {"head": head(rendered)["template"]["spec"]}
    specs.update({name: g["template"]["spec"] for name, g in worker_groups(rendered).items()})
    return specs


def ray_container(pod_spec: dict[str, Any]) -> dict[str, Any]:
    return pod_spec["containers"][0]


def app_args(rendered: helm.Rendered) -> dict[str, Any]:
    """`args` of the one serveConfigV2 application: serve_app's AppConfig as a dict."""
    config = yaml.safe_load(rayservice(rendered)["spec"]["serveConfigV2"])
    return config["applications"][0]["args"]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}
