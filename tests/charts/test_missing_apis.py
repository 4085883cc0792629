"""An optional object whose API the cluster does not serve fails the install naming the value.

Helm fills `.Capabilities.APIVersions` from the cluster's discovery on install and
upgrade, and from a built-in list offline. `--api-versions` stands in for a cluster here:
apiregistration.k8s.io/v1 (served by every real API server, absent from Helm's built-in
list) marks the render as talking to a cluster, and the optional CRDs are left out. The
cluster tier checks the same against a real API server with a CRD removed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import helm

CLUSTER = "apiregistration.k8s.io/v1"
KEDA = {"defaults.autoscaling.keda": {"enabled": True}}

CASES = [
    ("vllm-standalone", {"monitoring.podMonitor.enabled": True}, "monitoring.podMonitor.enabled", "monitoring.coreos.com/v1/PodMonitor"),
    ("vllm-standalone", {"monitoring.serviceMonitor.enabled": True}, "monitoring.serviceMonitor.enabled", "monitoring.coreos.com/v1/ServiceMonitor"),
    ("vllm-standalone", KEDA, "autoscaling.keda.enabled", "keda.sh/v1alpha1/ScaledObject"),
    ("vllm-standalone", {"httpRoute.enabled": True, "httpRoute.parentRefs": [{"name": "gw"}]}, "httpRoute.enabled", "gateway.networking.k8s.io/v1/HTTPRoute"),
    ("kuberay-llm", {}, "ray.io/v1/RayService", "ray.io/v1/RayService"),
    ("kuberay-llm", {"podMonitor.enabled": True}, "podMonitor.enabled", "monitoring.coreos.com/v1/PodMonitor"),
    ("kuberay-llm", {"httpRoute.enabled": True, "httpRoute.parentRefs": [{"name": "gw"}]}, "httpRoute.enabled", "gateway.networking.k8s.io/v1/HTTPRoute"),
    ("observability", {}, "scrape.vllm.enabled", "monitoring.coreos.com/v1/PodMonitor"),
    ("observability", {"scrape.dcgm.enabled": True, "scrape.vllm.enabled": False, "scrape.ray.enabled": False}, "scrape.dcgm.enabled", "monitoring.coreos.com/v1/ServiceMonitor"),
    ("observability", {"scrape.vllm.enabled": False, "scrape.ray.enabled": False}, "rules.enabled", "monitoring.coreos.com/v1/PrometheusRule"),
]
# What each chart's other objects need, so that only the API under test is missing.
SERVED = {
    "vllm-standalone": [],
    "kuberay-llm": ["ray.io/v1/RayService"],
    "observability": [],
}


def render(chart: str, set_json: dict[str, Any], apis: list[str]):
    return helm.template_process(chart, (), set_json, api_versions=apis)


@pytest.mark.parametrize(("chart", "set_json", "value", "api"), CASES, ids=[f"{c[0]}-{c[3].rsplit('/', 1)[-1]}-{c[2]}" for c in CASES])
def test_a_cluster_without_the_api_fails_naming_the_value(chart: str, set_json: dict[str, Any], value: str, api: str):
    served = [a for a in SERVED[chart] if a != api]
    proc = render(chart, set_json, [CLUSTER, *served])
    assert proc.returncode != 0, f"rendered for a cluster without {api}"
    assert value in proc.stderr and f"does not serve {api}" in proc.stderr, proc.stderr


@pytest.mark.parametrize(("chart", "set_json", "value", "api"), CASES, ids=[f"{c[0]}-{c[3].rsplit('/', 1)[-1]}-{c[2]}" for c in CASES])
def test_a_cluster_with_the_api_renders(chart: str, set_json: dict[str, Any], value: str, api: str):
    served = {a for c in CASES if c[0] == chart for a in [c[3]]} | set(SERVED[chart])
    proc = render(chart, set_json, [CLUSTER, *sorted(served)])
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("chart", ["vllm-standalone", "kuberay-llm", "observability"])
def test_offline_renders_skip_the_check(chart: str):
    """`helm template` with no cluster (Argo CD, CI linting) has nothing to ask."""
    proc = render(chart, {}, [])
    assert proc.returncode == 0, proc.stderr
