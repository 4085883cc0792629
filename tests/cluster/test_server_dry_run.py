"""Every preset and scenario of every chart is accepted by the real API server.

kubeconform checks schemas offline; this asks the API server itself, with the pinned
CRDs installed: a server-side apply dry run of everything a values file renders
(HPA, ScaledObject, ServiceMonitor, PrometheusRule, HTTPRoute, NetworkPolicy, PDB,
RayService, ...), with strict field validation, so an unknown or misplaced field
fails. Then every pod template the chart renders (Deployment, RayService head and
worker groups, helm test pods) is submitted as a dry-run Pod in a namespace that
enforces the restricted Pod Security profile, because Pod Security admission judges
pods, not the objects that create them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import yaml

from tests.support.helm import ci_values, presets, template
from tests.support.pod_security import exception_for
from tests.support.pods import pod_specs

from .conftest import Cluster
from .kube import RESTRICTED, Namespaces
from .manifests import into_test_namespaces, kubectl

CHARTS = ("kuberay-llm", "vllm-standalone", "observability")
CASES = [(chart, path) for chart in CHARTS for path in [*presets(chart), *ci_values(chart)]]
NOT_JUDGED_BY_POD_SECURITY = ("serviceAccountName", "priorityClassName", "runtimeClassName")


def case_id(case: tuple[str, Path]) -> str:
    chart, path = case
    return f"{chart}:{path.parent.name}/{path.name}"


@pytest.fixture(scope="module")
def dry_run_namespace(namespaces: Namespaces) -> Iterator[str]:
    name = namespaces.create("dry-run", RESTRICTED)
    yield name
    namespaces.delete(name)


@pytest.fixture(scope="module")
def other_namespace(namespaces: Namespaces) -> Iterator[str]:
    """Stands in for namespaces a chart targets besides its own (e.g. Grafana's `monitoring`)."""
    name = namespaces.create("dry-run-other", RESTRICTED)
    yield name
    namespaces.delete(name)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_rendered_object_is_accepted_by_the_api_server(cluster: Cluster, dry_run_namespace: str, other_namespace: str, case: tuple[str, Path]):
    chart, values = case
    docs = into_test_namespaces(template(chart, [values], namespace=dry_run_namespace).docs, dry_run_namespace, other_namespace)

    proc = kubectl(
        cluster, "apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=llmstack-dry-run",
        manifest=yaml.safe_dump_all(docs),
    )

    assert proc.returncode == 0, proc.stderr
    applied = [line for line in proc.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(docs), proc.stdout


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_pod_template_passes_restricted_pod_security(cluster: Cluster, dry_run_namespace: str, case: tuple[str, Path]):
    chart, values = case
    rejected = {}
    for i, pod in enumerate(pod_specs(template(chart, [values], namespace=dry_run_namespace).docs)):
        # Pod Security does not judge these, and other admission plugins would reject
        # the pod first: the release's ServiceAccount does not exist in a dry run, and
        # priority and runtime classes are the cluster admin's (presets name them).
        spec = {k: v for k, v in pod.spec.items() if k not in NOT_JUDGED_BY_POD_SECURITY}
        manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"dry-run-{i}", "namespace": dry_run_namespace}, "spec": spec}
        proc = kubectl(cluster, "create", "--dry-run=server", "-o", "name", manifest=yaml.safe_dump(manifest))
        if proc.returncode != 0:
            rejected[pod.origin] = proc.stderr
    # Values files listed with volume types the profile forbids (tests/support/pod_security.py):
    # the rejection must be for those volumes and nothing else.
    exception = exception_for(chart, values)
    if exception:
        assert rejected, "this values file no longer needs its exception: remove it from tests/support/pod_security.py"
        for where, message in rejected.items():
            assert 'violates PodSecurity "restricted' in message, f"{where}: {message}"
            # the only violation named is the listed volume types
            assert "restricted volume types" in message and message.count("forbidden") == 1, f"{where}: {message}"
            assert all(f'"{volume}"' in message for volume in exception.volumes), f"{where}: {message}"
    else:
        assert not rejected, "\n".join(f"{w}: {m}" for w, m in rejected.items())


def test_every_chart_renders_pods_to_check(dry_run_namespace: str):
    """Guards the test above from passing vacuously: the main presets do render pods."""
    for chart in ("kuberay-llm", "vllm-standalone"):
        for values in presets(chart):
            assert pod_specs(template(chart, [values], namespace=dry_run_namespace).docs), f"{chart} {values.name}"


def test_restricted_namespace_rejects_a_pod_without_a_security_context(cluster: Cluster, dry_run_namespace: str):
    """The admission the tests above rely on is really enforced in this cluster."""
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unhardened", "namespace": dry_run_namespace},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    proc = kubectl(cluster, "create", "--dry-run=server", "-o", "name", manifest=yaml.safe_dump(pod))
    assert proc.returncode != 0
    assert 'violates PodSecurity "restricted' in proc.stderr and "allowPrivilegeEscalation != false" in proc.stderr
