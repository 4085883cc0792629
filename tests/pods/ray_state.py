"""What Ray itself says about a kuberay-llm release, for a failure message.

Pod status and logs cannot tell why Serve does not roll a deployment: a replica that
waits for resources, a placement group that was never freed, an application stuck in
DEPLOYING all look the same from Kubernetes. The head's dashboard API (reachable from
the node, which the chart's NetworkPolicy allows) says it directly.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.cluster.kube import Kube

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


def describe_ray(kube: Kube, namespace: str) -> str:
    """Serve's applications and replicas, the placement groups and the autoscaler's resource report."""
    try:
        base = f"http://{head_ip(kube, namespace)}:{DASHBOARD_PORT}"
        lines = _serve_lines(_get(f"{base}/api/serve/applications/"))
        lines += _placement_group_lines(_get(f"{base}/api/v0/placement_groups?detail=1&limit=50"))
        lines.append(str(_get(f"{base}/api/cluster_status?format=1").get("data", {}).get("clusterStatus", "")))
    except (httpx.HTTPError, ValueError) as error:
        return f"(Ray's dashboard did not answer: {error!r})"
    return "\n".join(lines)
