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
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from tests.support.tools import REPO, crds_dir, tool

from .kube import RESTRICTED, Kube, Namespaces

CLUSTER_SCRIPT = REPO / "ci" / "cluster"
# Tools ci/cluster runs; checked up front so a missing one names its install command.
CLUSTER_TOOLS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok", "ray-operator")
CLUSTER_UP_TIMEOUT_S = 240  # the script itself allows 120 s per wait; this bounds the whole start
CLUSTER_DOWN_TIMEOUT_S = 60
HELM_TIMEOUT_S = 180

# what `ci/cluster up` printed and how long it took, for the terminal summary
_startup: dict[str, str | float] = {}


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    started_here: bool


def _kubeconfig_option(pytestconfig: pytest.Config) -> str:
    # pytest-helm-charts registers --kubeconfig (falling back to KUBECONFIG); reuse it.
    return pytestconfig.getoption("kubeconfig", default=None) or os.environ.get("KUBECONFIG", "")


def _run_cluster_script(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLUSTER_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _component_logs(state: Path, lines: int = 20) -> str:
    """The end of every component log, for a failure message (down deletes the logs)."""
    parts = []
    for log in sorted((state / "logs").glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"--- {log.name} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "\n".join(parts)


def _sigterm_to_interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    # A CI runner's SIGTERM stops the session like Ctrl-C, so the cluster is torn down.
    raise KeyboardInterrupt(f"signal {signum}")


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
    state = tmp_path_factory.mktemp("cluster")
    previous = signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    try:
        started = time.monotonic()
        try:
            up = _run_cluster_script("up", str(state), timeout=CLUSTER_UP_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr or ""
            pytest.fail(f"ci/cluster up did not finish in {CLUSTER_UP_TIMEOUT_S}s:\n{stderr}\n{_component_logs(state)}")
        if up.returncode != 0:
            pytest.fail(f"ci/cluster up failed (exit {up.returncode}):\n{up.stderr}\n{_component_logs(state)}")
        _startup.update(seconds=time.monotonic() - started, log=up.stderr)
        yield Cluster(state / "kubeconfig", started_here=True)
    finally:
        down = _run_cluster_script("down", str(state), timeout=CLUSTER_DOWN_TIMEOUT_S)
        signal.signal(signal.SIGTERM, previous)
        if down.returncode != 0:
            print(f"ci/cluster down failed:\n{down.stderr}", file=sys.stderr)


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
def namespaces(kube: Kube) -> Namespaces:
    return Namespaces(kube)


@pytest.fixture
def namespace(namespaces: Namespaces, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace enforcing the restricted Pod Security profile, deleted afterwards."""
    name = namespaces.create(request.node.name.removeprefix("test_"), RESTRICTED)
    yield name
    namespaces.delete(name)


@dataclass(frozen=True)
class Helm:
    """The pinned helm, pointed at the cluster under test, with a private helm home."""

    kubeconfig: Path
    home: Path

    def __call__(self, *args: str | Path, check: bool = True, timeout: float = HELM_TIMEOUT_S) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        cmd = [tool("helm"), *map(str, args), "--kubeconfig", str(self.kubeconfig)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            shown = " ".join(map(str, args))
            raise AssertionError(f"`helm {shown}` failed (exit {proc.returncode}):\n{proc.stderr}")
        return proc


@pytest.fixture(scope="package")
def helm(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(cluster.kubeconfig, tmp_path_factory.mktemp("helm-home"))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _startup:
        terminalreporter.section("cluster start-up")
        for line in str(_startup["log"]).splitlines():
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"ci/cluster up took {_startup['seconds']:.1f} s")
