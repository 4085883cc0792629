"""What Ray itself says about a kuberay-llm release, for a failure message.

Pod status and logs cannot tell why Serve does not roll a deployment: a replica that
waits for resources, a placement group that was never freed, an application stuck in
DEPLOYING all look the same from Kubernetes. The head's dashboard API (reachable from
the node, which the chart's NetworkPolicy allows) says it directly.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.cluster.kube import Kube

from .real_node import container_id, container_processes

DASHBOARD_PORT = 8265


def head_ip(kube: Kube, namespace: str) -> str:
    (head,) = kube.core.list_namespaced_pod(namespace, label_selector="ray.io/node-type=head").items
    return head.status.pod_ip


def _get(url: str) -> Any:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    return response.json()


def _serve_lines(details: dict[str, Any]) -> list[str]:
    lines = []
    for app_name, app in (details.get("applications") or {}).items():
        lines.append(f"serve app {app_name}: {app.get('status')} {app.get('message') or ''}".rstrip())
        for name, deployment in (app.get("deployments") or {}).items():
            replicas = ", ".join(f"{r.get('replica_id')}={r.get('state')}" for r in deployment.get("replicas") or [])
            lines.append(f"  deployment {name}: {deployment.get('status')} {deployment.get('message') or ''} [{replicas}]".rstrip())
    return lines


def _placement_group_lines(listing: dict[str, Any]) -> list[str]:
    groups = listing.get("data", {}).get("result", {}).get("result", [])
    return [f"placement group {g.get('placement_group_id')} {g.get('name')}: {g.get('state')} bundles={g.get('bundles')}" for g in groups]


def _unfinished_task_lines(listing: dict[str, Any]) -> list[str]:
    """Tasks and actor creations not finished, such as the Serve controller's build of a new config."""
    tasks = listing.get("data", {}).get("result", {}).get("result", [])
    return [
        f"task {t.get('name')} ({t.get('type')}): {t.get('state')} node={(t.get('node_id') or '')[:8]} worker_pid={t.get('worker_pid')}"
        for t in tasks if t.get("state") not in ("FINISHED", "FAILED")
    ]


# What a Serve roll that does not progress leaves in each Ray pod's session logs.
LOG_TAILS = {"ray-head": ["logs/serve/controller_*.log", "logs/raylet.out"], "ray-worker": ["logs/raylet.out"]}
LOG_TAIL_LINES = 30


def _log_tails(cluster_dir: Path, kube: Kube, namespace: str) -> list[str]:
    """The tails of LOG_TAILS, read through /proc/<pid>/root of a process in each Ray container (the tests run as root)."""
    lines = []
    for pod in kube.core.list_namespaced_pod(namespace, label_selector="ray.io/node-type").items:
        for container, patterns in LOG_TAILS.items():
            if container not in {c.name for c in pod.spec.containers}:
                continue
            try:
                pid = min(container_processes(cluster_dir, container_id(pod, container)))
            except (ValueError, subprocess.CalledProcessError) as error:
                lines.append(f"--- {pod.metadata.name}/{container}: no process to read logs through ({error!r})")
                continue
            root = Path(f"/proc/{pid}/root")
            # session_latest is an absolute link inside the container: resolve it under its root.
            session = root / os.readlink(root / "tmp/ray/session_latest").lstrip("/")
            for pattern in patterns:
                for path in sorted(session.glob(pattern)):
                    # raylet.out repeats a long state dump every minute; its own events are what tell.
                    logged = [line for line in path.read_text(errors="replace").splitlines() if not line.startswith("[state-dump]")]
                    tail = logged[-LOG_TAIL_LINES:]
                    lines += [f"--- {pod.metadata.name}/{container}: {path.relative_to(session)}", *tail]
    return lines


def describe_ray(kube: Kube, namespace: str, cluster_dir: Path | None = None) -> str:
    """Serve's applications and replicas, unfinished tasks, the placement groups, the
    autoscaler's resource report and, given the node's state directory, Ray's log tails."""
    try:
        base = f"http://{head_ip(kube, namespace)}:{DASHBOARD_PORT}"
        lines = _serve_lines(_get(f"{base}/api/serve/applications/"))
        lines += _unfinished_task_lines(_get(f"{base}/api/v0/tasks?detail=1&limit=200"))
        lines += _placement_group_lines(_get(f"{base}/api/v0/placement_groups?detail=1&limit=50"))
        lines.append(str(_get(f"{base}/api/cluster_status?format=1").get("data", {}).get("clusterStatus", "")))
    except (httpx.HTTPError, ValueError) as error:
        lines = [f"(Ray's dashboard did not answer: {error!r})"]
    if cluster_dir is not None:
        try:
            lines += _log_tails(cluster_dir, kube, namespace)
        except Exception as error:  # a diagnostic must never hide the failure it explains
            lines.append(f"(Ray's logs could not be read: {error!r})")
    return "\n".join(lines)
