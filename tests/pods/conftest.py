"""Pods tier fixtures: a control plane plus one real node, where pods really run.

`ci/cluster up` starts the control plane (as for the cluster tier) and `ci/node up`
joins a real node to it: kubelet, kube-proxy, containerd with runc, a CNI bridge
without any route off this machine. Its images are the stand-ins of `ci/images`
(nothing can be pulled here). Tests create namespaces that enforce the restricted Pod
Security profile and pods that tolerate the node's taint (the kwok nodes never run
anything). Always a fresh cluster: the real node is tied to the cluster it joins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from kubernetes import config as kube_config

from tests.cluster.kube import Kube, Namespaces
from tests.cluster.namespaces import namespace, namespaces  # noqa: F401 - fixtures
from tests.cluster.releases import Helm
from tests.support import local_cluster
from tests.support.tools import tool

from . import keda
from . import prometheus as live
from .charts import CHARTS

# Tools ci/cluster and ci/node run; checked up front so a missing one names `make bootstrap`.
NODE_TOOLS = (
    "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok", "ray-operator",
    "kubelet", "kube-proxy", "containerd", "containerd-shim-runc-v2", "bridge", "coredns", "kube-router", "helm",
    "prometheus-operator", "keda-operator", "keda-adapter",
)
OBSERVABILITY_RELEASE = "obs"

_startup: dict[str, str | float] = {}
# What the tier measured (times to ready, to recovery), printed at the end of the run.
_figures: dict[str, float] = {}


@pytest.fixture(scope="package")
def cluster_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The state directory of a fresh cluster with the real node, stopped after the tier."""
    for name in NODE_TOOLS:
        tool(name)
    state = tmp_path_factory.mktemp("pods-cluster")
    with local_cluster.running(state, real_node=True, startup=_startup):
        yield state


@pytest.fixture(scope="package")
def kube(cluster_dir: Path) -> Kube:
    return Kube(kube_config.new_client_from_config(config_file=str(cluster_dir / "kubeconfig")))


@pytest.fixture(scope="package")
def helm(cluster_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(cluster_dir / "kubeconfig", tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="package")
def prometheus(kube: Kube, namespaces: Namespaces, cluster_dir: Path, helm: Helm) -> Iterator[live.Prometheus]:
    """A live Prometheus on the real node, with the observability chart's monitors and rules."""
    with live.running(kube, namespaces, cluster_dir) as server:
        helm("install", OBSERVABILITY_RELEASE, CHARTS / "observability", "--namespace", live.NAMESPACE, "--values", live.OBSERVABILITY_VALUES)
        yield server
        helm("uninstall", OBSERVABILITY_RELEASE, "--namespace", live.NAMESPACE, check=False)


@pytest.fixture(scope="package")
def keda_running(kube: Kube, namespaces: Namespaces, cluster_dir: Path) -> Iterator[None]:
    """KEDA's operator and metrics server on the host, the external metrics API registered."""
    with keda.running(kube, namespaces, cluster_dir):
        yield


@pytest.fixture(scope="package")
def figures() -> dict[str, float]:
    """Measurements for the terminal summary: name -> seconds."""
    return _figures


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _startup:
        terminalreporter.section("real node start-up")
        terminalreporter.write_line(f"ci/cluster up + ci/node up took {_startup['seconds']:.1f} s")
    for name, seconds in sorted(_figures.items()):
        terminalreporter.write_line(f"{name}: {seconds:.1f} s")
