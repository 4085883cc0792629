"""Every container of every render runs under the restricted Pod Security profile:
non-root, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault,
no host namespaces, only restricted volume types. Exceptions are listed with their
reason in tests/support/pod_security.py, and an exception that is no longer needed
fails too.
"""

from __future__ import annotations

import pytest

from tests.security import cases
from tests.support.pod_security import EXCEPTIONS, RESTRICTED_VOLUMES, exception_for
from tests.support.pods import PodSpec, pod_specs

CASES = cases.cases(cases.WORKLOAD_CHARTS)


def effective(pod: PodSpec, container: dict, key: str):
    """A container's security setting, falling back to the pod's (as the kubelet does)."""
    own = (container.get("securityContext") or {}).get(key)
    return own if own is not None else (pod.spec.get("securityContext") or {}).get(key)


def violations(pod: PodSpec) -> list[str]:
    out = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.spec.get(key):
            out.append(f"{pod.origin}: {key}")
    for c in pod.containers():
        where = f"{pod.origin} {c['name']}"
        sc = c.get("securityContext") or {}
        if effective(pod, c, "runAsNonRoot") is not True:
            out.append(f"{where}: runAsNonRoot is not true")
        if effective(pod, c, "runAsUser") == 0:
            out.append(f"{where}: runAsUser 0")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            out.append(f"{where}: privileged")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []) or set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            out.append(f"{where}: capabilities {caps}")
        if (effective(pod, c, "seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            out.append(f"{where}: seccompProfile is not RuntimeDefault")
    return out


def volume_types(pod: PodSpec) -> set[str]:
    return {k for v in pod.spec.get("volumes") or [] for k in v if k != "name"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_container_meets_the_restricted_profile(case: cases.Case) -> None:
    pods = pod_specs(cases.render(case).docs)
    assert pods
    assert not [v for pod in pods for v in violations(pod)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pods_use_only_restricted_volume_types_or_a_listed_exception(case: cases.Case) -> None:
    used = set().union(*(volume_types(p) for p in pod_specs(cases.render(case).docs)))
    exception = exception_for(case.chart, case.values)
    allowed = exception.volumes if exception else set()
    assert used - RESTRICTED_VOLUMES == allowed, f"beyond the restricted profile: {used - RESTRICTED_VOLUMES}, listed: {set(allowed)}"


def test_every_exception_names_a_rendered_case() -> None:
    assert {(e.chart, e.values) for e in EXCEPTIONS} <= {(c.chart, c.values) for c in CASES}


@pytest.mark.parametrize("case", [c for c in CASES if c.chart == "kuberay-llm"], ids=lambda c: c.id)
def test_ray_autoscaler_sidecar_is_restricted_too(case: cases.Case) -> None:
    """KubeRay injects the autoscaler container into the head; the chart sets its securityContext."""
    cluster = cases.render(case).one("RayService")["spec"]["rayClusterConfig"]
    if not cluster["enableInTreeAutoscaling"]:
        assert "autoscalerOptions" not in cluster
        return
    sc = cluster["autoscalerOptions"]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and "ALL" in sc["capabilities"]["drop"]
    head = PodSpec("head", cluster["headGroupSpec"]["template"]["spec"], {})
    assert not violations(PodSpec("autoscaler", {**head.spec, "containers": [{"name": "autoscaler", "securityContext": sc}]}, {}))
