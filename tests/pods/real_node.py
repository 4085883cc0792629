"""Helpers for pods on the real node: a pod spec that lands there, waits, exec.

The node (ci/node) is tainted so that only pods meant for it run there; every pod the
tier makes tolerates the taint and selects the node. Images are the stand-ins that
ci/images built and ci/node imported: nothing is pulled.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.stream import stream

from tests.cluster.kube import Kube, wait_for
from tests.support.tools import tool

NODE_NAME = "real-0"
NODE_LABEL = "llmstack.local/real-node"
# What places a pod on the real node (the kwok nodes never run anything).
NODE_SELECTOR = {NODE_LABEL: "true"}
NODE_TOLERATION = {"key": NODE_LABEL, "operator": "Exists", "effect": "NoSchedule"}
BASE_IMAGE = "localhost/llmstack/base:bookworm"
READY_TIMEOUT_S = 120


def restricted_container(name: str, command: list[str], port: int | None = None, **extra: Any) -> dict[str, Any]:
    """A container that passes the restricted Pod Security profile, on the stand-in base image."""
    container: dict[str, Any] = {
        "name": name,
        "image": BASE_IMAGE,
        "imagePullPolicy": "Never",
        "command": command,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "readOnlyRootFilesystem": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        **extra,
    }
    if port is not None:
        container["ports"] = [{"name": "http", "containerPort": port}]
    return container


def pod_on_real_node(name: str, labels: dict[str, str], containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeSelector": NODE_SELECTOR,
            "tolerations": [NODE_TOLERATION],
            "terminationGracePeriodSeconds": 2,
            "containers": containers,
        },
    }


def describe_pod(kube: Kube, namespace: str, name: str) -> str:
    """Status, events and container logs of a pod, for a failure message."""
    pod = kube.core.read_namespaced_pod(name, namespace)
    events = kube.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    lines = [f"phase={pod.status.phase} conditions={[(c.type, c.status, c.reason) for c in pod.status.conditions or []]}"]
    lines += [f"event {e.type} {e.reason}: {e.message}" for e in events]
    for status in pod.status.container_statuses or []:
        lines.append(f"container {status.name}: ready={status.ready} restarts={status.restart_count} state={status.state}")
        try:
            lines.append(kube.core.read_namespaced_pod_log(name, namespace, container=status.name, tail_lines=20))
        except client.ApiException as e:
            lines.append(f"(no log: {e.reason})")
    return "\n".join(lines)


def pod_ready(kube: Kube, namespace: str, name: str) -> client.V1Pod | None:
    pod = kube.core.read_namespaced_pod(name, namespace)
    ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
    return pod if ready else None


def wait_ready(kube: Kube, namespace: str, name: str, timeout_s: float = READY_TIMEOUT_S) -> client.V1Pod:
    return wait_for(f"pod {namespace}/{name} Ready", lambda: pod_ready(kube, namespace, name), timeout_s, lambda: describe_pod(kube, namespace, name))


def run_in(kube: Kube, namespace: str, pod: str, command: list[str]) -> str:
    """Run ``command`` in the pod's first container through the API server and kubelet (kubectl exec)."""
    return stream(
        kube.core.connect_get_namespaced_pod_exec, pod, namespace, command=command, stderr=True, stdin=False, stdout=True, tty=False
    )


def container_id(pod: client.V1Pod, container: str) -> str:
    (status,) = [s for s in pod.status.container_statuses if s.name == container]
    return status.container_id.removeprefix("containerd://")


def container_processes(cluster_dir: Path, cid: str) -> dict[int, str]:
    """PID (on this host) -> command line of every process in a running container, as containerd lists them."""
    ctr = Path(tool("containerd")).with_name("ctr")
    socket = cluster_dir / "node" / "containerd" / "containerd.sock"
    out = subprocess.run(
        [str(ctr), "--address", str(socket), "-n", "k8s.io", "tasks", "ps", cid], capture_output=True, text=True, check=True
    ).stdout
    processes = {}
    for line in out.splitlines()[1:]:
        pid = int(line.split()[0])
        try:
            processes[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except FileNotFoundError:
            continue
    return processes


def sigkill(cluster_dir: Path, pod: client.V1Pod, container: str, command_part: str) -> int:
    """SIGKILL the one process of the container whose command line contains ``command_part``; its PID."""
    processes = container_processes(cluster_dir, container_id(pod, container))
    matches = [pid for pid, cmd in processes.items() if command_part in cmd]
    assert len(matches) == 1, f"expected one process matching {command_part!r}: {processes}"
    os.kill(matches[0], signal.SIGKILL)
    return matches[0]


# Connects and prints "open" or "closed": a refused, reset or timed-out connection is closed.
_TCP_PROBE = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()\n"
    "    print('open')\n"
    "except OSError:\n"
    "    print('closed')\n"
)


def create_prober(kube: Kube, namespace: str, name: str = "prober") -> str:
    """A ready pod on the real node that does nothing but wait to be told what to connect to."""
    container = restricted_container(name, ["sleep", "infinity"])
    kube.core.create_namespaced_pod(namespace, pod_on_real_node(name, {"app": name}, [container]))
    wait_ready(kube, namespace, name)
    return name


def tcp_open_from(kube: Kube, namespace: str, pod: str, host: str, port: int) -> bool:
    """Whether ``pod`` can open a TCP connection to host:port (3 s timeout)."""
    out = run_in(kube, namespace, pod, ["python3", "-c", _TCP_PROBE, host, str(port)]).strip()
    assert out in ("open", "closed"), out
    return out == "open"
