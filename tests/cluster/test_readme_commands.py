"""The install commands of the READMEs, run exactly as written against the real API server.

A user copies these blocks first; a command that fails, or monitoring that selects no
pod, is the first impression the project makes. The text is read from the READMEs at
test time, so an edit to a command is what gets tested. Each test runs in the
namespace the docs use (`llm`) and deletes it afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.tools import REPO, tool

from .conftest import Cluster
from .kube import GONE_TIMEOUT_S, Kube, describe_namespace, wait_for

NAMESPACE = "llm"
MONITORING = ("monitoring.coreos.com", "v1")
# Pods of the workload charts appear once the Deployment / the KubeRay operator creates them.
PODS_TIMEOUT_S = 120


def install_block(readme: Path, heading: str) -> str:
    """The first fenced code block after the heading, as the reader sees it."""
    text = readme.read_text()
    after = text[text.index(f"\n{heading}\n"):]
    match = re.search(r"```(?:bash|console)\n(.*?)```", after, re.S)
    assert match, f"no code block under {heading!r} in {readme}"
    return match.group(1)


def run_as_written(cluster: Cluster, tmp: Path, script: str) -> subprocess.CompletedProcess:
    """The commands in bash from the repository root, with the pinned helm and kubectl on PATH."""
    tools = {str(Path(tool(name)).parent) for name in ("helm", "kubectl")}
    env = {
        **os.environ,
        "PATH": os.pathsep.join([*tools, os.environ["PATH"]]),
        "KUBECONFIG": str(cluster.kubeconfig),
        "HELM_CONFIG_HOME": str(tmp / "config"),
        "HELM_CACHE_HOME": str(tmp / "cache"),
        "HELM_DATA_HOME": str(tmp / "data"),
    }
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def selector_string(selector: dict[str, Any]) -> str:
    """A LabelSelector as the API's label_selector query."""
    terms = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr["operator"], expr["key"], ",".join(expr.get("values") or [])
        terms.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key, "DoesNotExist": f"!{key}"}[op])
    return ",".join(terms)


def monitored_pods(kube: Kube, monitor: dict[str, Any]) -> list[Any]:
    """The pods a PodMonitor selects, as prometheus-operator reads its selectors."""
    spec = monitor["spec"]
    scope = spec.get("namespaceSelector") or {}
    if scope.get("any"):
        return kube.core.list_pod_for_all_namespaces(label_selector=selector_string(spec["selector"])).items
    names = scope.get("matchNames") or [monitor["metadata"]["namespace"]]
    return [pod for name in names for pod in kube.core.list_namespaced_pod(name, label_selector=selector_string(spec["selector"])).items]


@pytest.fixture
def docs_namespace(kube: Kube) -> Iterator[str]:
    """The docs' namespace, absent before the commands run and deleted (pods included) after."""
    assert not [n for n in kube.core.list_namespace().items if n.metadata.name == NAMESPACE], f"namespace {NAMESPACE} exists already"
    yield NAMESPACE
    kube.core.delete_namespace(NAMESPACE, propagation_policy="Background")
    wait_for(f"namespace {NAMESPACE} to be gone", lambda: NAMESPACE not in {n.metadata.name for n in kube.core.list_namespace().items}, GONE_TIMEOUT_S * 2)


def test_the_readme_install_block_runs_and_its_pod_monitors_select_both_engines(cluster: Cluster, kube: Kube, docs_namespace: str, tmp_path: Path):
    block = install_block(REPO / "README.md", "## Install the charts")
    result = run_as_written(cluster, tmp_path, block)
    assert result.returncode == 0, f"the README's install block failed:\n{result.stderr}"
    monitors = {m["metadata"]["name"]: m for m in kube.custom.list_namespaced_custom_object(*MONITORING, docs_namespace, "podmonitors")["items"]}
    releases = {"obs-observability-vllm": "llama", "obs-observability-ray": "llama-ray"}
    assert set(releases) <= set(monitors), sorted(monitors)
    for name, release in releases.items():
        assert monitors[name]["metadata"]["labels"].get("release") == "kube-prometheus-stack", monitors[name]["metadata"]["labels"]
        wait_for(
            f"PodMonitor {name} to select the pods of release {release}",
            lambda: release in {(p.metadata.labels or {}).get("app.kubernetes.io/instance") for p in monitored_pods(kube, monitors[name])},
            PODS_TIMEOUT_S,
            lambda: describe_namespace(kube, docs_namespace),
        )


@pytest.mark.parametrize("chart", ["vllm-standalone", "kuberay-llm"])
def test_a_chart_readme_install_command_runs_as_written(chart: str, cluster: Cluster, kube: Kube, docs_namespace: str, tmp_path: Path):
    """The chart README's `helm install` line; its `helm test` line needs running engines
    (the pods tier runs `helm test` for real on the CPU presets)."""
    block = install_block(REPO / "charts" / chart / "README.md", "## Install")
    install = "\n".join(line for line in block.splitlines() if not line.startswith("helm test"))
    result = run_as_written(cluster, tmp_path, install)
    assert result.returncode == 0, f"{chart}'s README install command failed:\n{result.stderr}"
    assert "STATUS: deployed" in result.stdout, result.stdout


def test_the_observability_readme_command_monitors_the_vllm_standalone_readme_release(cluster: Cluster, kube: Kube, docs_namespace: str, tmp_path: Path):
    """Both charts' README commands one after the other, as a user following both would run them."""
    workload = install_block(REPO / "charts" / "vllm-standalone" / "README.md", "## Install")
    monitoring = install_block(REPO / "charts" / "observability" / "README.md", "## Install")
    script = "\n".join(line for line in (workload + monitoring).splitlines() if not line.startswith("helm test"))
    result = run_as_written(cluster, tmp_path, script)
    assert result.returncode == 0, f"the README commands failed:\n{result.stderr}"
    (monitor,) = [m for m in kube.custom.list_namespaced_custom_object(*MONITORING, docs_namespace, "podmonitors")["items"] if m["metadata"]["name"].endswith("-vllm")]
    wait_for(
        f"PodMonitor {monitor['metadata']['name']} to select the engine pods of release llm",
        lambda: "llm" in {(p.metadata.labels or {}).get("app.kubernetes.io/instance") for p in monitored_pods(kube, monitor)},
        PODS_TIMEOUT_S,
        lambda: describe_namespace(kube, docs_namespace),
    )
