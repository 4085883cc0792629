"""Applying rendered manifests with the pinned kubectl, into the tier's own namespaces."""

from __future__ import annotations

import subprocess

from tests.support.tools import tool

from .conftest import Cluster

KUBECTL_TIMEOUT_S = 60


def kubectl(cluster: Cluster, *args: str, manifest: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("kubectl"), "--kubeconfig", str(cluster.kubeconfig), *args, "-f", "-"],
        input=manifest, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT_S,
    )


def into_test_namespaces(docs: list[dict], own: str, other: str) -> list[dict]:
    """Objects without a namespace go to ``own``; those aimed elsewhere go to ``other``.

    Tests only write into namespaces they created, so a scenario that sends dashboards
    to Grafana's namespace is applied into a stand-in created for the purpose.
    """
    for d in docs:
        meta = d["metadata"]
        meta["namespace"] = own if meta.get("namespace", own) == own else other
    return docs
