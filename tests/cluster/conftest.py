"""Cluster tier fixtures: one Kubernetes control plane per session, a namespace per test.

By default the cluster package starts its own cluster with ``ci/cluster up`` in a temporary
directory (etcd, kube-apiserver, kube-controller-manager and kube-scheduler as local
processes, kwok fake nodes with CPUs and GPUs, the real KubeRay operator, every CRD
the charts target) and always stops it with ``ci/cluster down`` at the end, whether
the tests passed, failed or were interrupted.

Given ``--kubeconfig PATH`` (or ``KUBECONFIG``), the session uses that cluster instead
and assumes it was prepared the same way: ``ci/cluster up`` prints the export line.
Tests only ever write into namespaces they create (label ``llmstack.io/test=cluster``),
plus PersistentVolumes labelled with those namespaces.

A missing tool or a cluster that does not start fails the session: never a skip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from tests.support import local_cluster
from tests.support.tools import crds_dir, tool

from .kube import Kube
from .namespaces import namespace, namespaces  # noqa: F401 - fixtures
from .releases import Helm

# Tools ci/cluster runs; checked up front so a missing one names its install command.
CLUSTER_TOOLS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok", "ray-operator")

# what `ci/cluster up` printed and how long it took, for the terminal summary
_startup: dict[str, str | float] = {}


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    started_here: bool


def _kubeconfig_option(pytestconfig: pytest.Config) -> str:
    # pytest-helm-charts registers --kubeconfig (falling back to KUBECONFIG); reuse it.
    return pytestconfig.getoption("kubeconfig", default=None) or os.environ.get("KUBECONFIG", "")


@pytest.fixture(scope="package")
def cluster(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The cluster under test: the given one, or one started (and stopped) here."""
    given = _kubeconfig_option(pytestconfig)
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            pytest.fail(f"kubeconfig {path} (from --kubeconfig/KUBECONFIG) does not exist")
        yield Cluster(path, started_here=False)
        return

    for name in CLUSTER_TOOLS:
        tool(name)  # raises ToolMissing naming `make bootstrap`
    crds_dir()
    with local_cluster.running(tmp_path_factory.mktemp("cluster"), real_node=False, startup=_startup) as kubeconfig:
        yield Cluster(kubeconfig, started_here=True)


@pytest.fixture(scope="package")
def kube(cluster: Cluster) -> Kube:
    """API handles for the cluster under test (never the client's global default)."""
    api = kube_config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        client.VersionApi(api).get_code()
    except Exception as e:  # noqa: BLE001 - any failure here means no usable cluster
        pytest.fail(f"cannot reach the cluster in {cluster.kubeconfig}: {e}")
    return Kube(api)


@pytest.fixture(scope="package")
def helm(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(cluster.kubeconfig, tmp_path_factory.mktemp("helm-home"))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _startup:
        terminalreporter.section("cluster start-up")
        for line in str(_startup["log"]).splitlines():
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"ci/cluster up took {_startup['seconds']:.1f} s")
