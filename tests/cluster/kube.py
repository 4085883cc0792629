"""Small Kubernetes helpers for the cluster tier: API handles, waits, namespaces, volumes.

Everything here talks to the API server through the official client; nothing
assumes a real kubelet. Under kwok, pods become Ready without running, so tests
check what the control plane decided (scheduling, objects, specs), not processes.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

T = TypeVar("T")

POLL_INTERVAL_S = 0.25
# Every namespace the tier creates carries TEST_LABEL; PVs it creates carry the namespace.
TEST_LABEL = {"llmstack.io/test": "cluster"}
TEST_NAMESPACE_LABEL = "llmstack.io/test-namespace"
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
# The extended resource and node label the simulated GPU nodes carry (as NVIDIA's device
# plugin and GPU feature discovery set them on real nodes).
GPU = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
SCHEDULED_TIMEOUT_S = 60
GONE_TIMEOUT_S = 90


@dataclass(frozen=True)
class Kube:
    """Typed API handles sharing one authenticated client."""

    api: client.ApiClient

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def crds(self) -> client.ApiextensionsV1Api:
        return client.ApiextensionsV1Api(self.api)

    @property
    def version(self) -> client.VersionApi:
        return client.VersionApi(self.api)


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float, describe: Callable[[], str] | None = None) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` on timeout.

    ``describe`` is called once on timeout to put the current state in the message,
    so a failure says what the cluster looked like instead of just "timed out".
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            state = f"\n{describe()}" if describe else ""
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}{state}")
        time.sleep(POLL_INTERVAL_S)


def deployment_available(kube: Kube, namespace: str, name: str) -> client.V1Deployment | None:
    """The Deployment once its latest spec is fully rolled out and Available."""
    d = kube.apps.read_namespaced_deployment(name, namespace)
    s = d.status
    rolled_out = (
        (s.observed_generation or 0) >= d.metadata.generation
        and (s.updated_replicas or 0) == d.spec.replicas
        and (s.available_replicas or 0) == d.spec.replicas
        and not s.unavailable_replicas
        and (s.replicas or 0) == d.spec.replicas
    )
    available = any(c.type == "Available" and c.status == "True" for c in s.conditions or [])
    return d if rolled_out and available else None


def wait_deployment_available(kube: Kube, namespace: str, name: str, timeout_s: float) -> client.V1Deployment:
    return wait_for(
        f"Deployment {namespace}/{name} to be Available",
        lambda: deployment_available(kube, namespace, name),
        timeout_s,
        describe=lambda: describe_namespace(kube, namespace),
    )


def pods(kube: Kube, namespace: str, selector: dict[str, str]) -> list[client.V1Pod]:
    label_selector = ",".join(f"{k}={v}" for k, v in selector.items())
    items = kube.core.list_namespaced_pod(namespace, label_selector=label_selector).items
    return [p for p in items if p.metadata.deletion_timestamp is None]


def events_for(kube: Kube, namespace: str, kind: str, name: str, reason: str | None = None) -> list[client.CoreV1Event]:
    selector = f"involvedObject.kind={kind},involvedObject.name={name}"
    if reason:
        selector += f",reason={reason}"
    return kube.core.list_namespaced_event(namespace, field_selector=selector).items


def wait_scheduled(kube: Kube, namespace: str, pod_names: list[str]) -> list[client.V1Pod]:
    """The named pods, once the scheduler has placed every one of them on a node."""

    def probe():
        found = [kube.core.read_namespaced_pod(n, namespace) for n in pod_names]
        return found if all(p.spec.node_name for p in found) else None

    return wait_for(f"pods {pod_names} to be scheduled", probe, SCHEDULED_TIMEOUT_S, lambda: describe_namespace(kube, namespace))


def describe_namespace(kube: Kube, namespace: str) -> str:
    """A compact picture of a namespace for failure messages: pods and recent warnings."""
    lines = []
    for p in kube.core.list_namespaced_pod(namespace).items:
        lines.append(f"pod {p.metadata.name}: phase={p.status.phase} node={p.spec.node_name}")
        for c in p.status.conditions or []:
            if c.status != "True" and c.message:
                lines.append(f"  {c.type}={c.status} {c.reason}: {c.message}")
    for e in kube.core.list_namespaced_event(namespace).items:
        if e.type == "Warning":
            lines.append(f"event {e.involved_object.kind}/{e.involved_object.name} {e.reason}: {e.message}")
    return "\n".join(lines[-40:]) or f"(namespace {namespace} is empty)"


def bind_pending_claims(kube: Kube, namespace: str, host_path: str | None = None) -> list[str]:
    """Give every Pending PersistentVolumeClaim in ``namespace`` a static PV bound to it.

    The simulated cluster has no storage provisioner, so a claim would stay Pending
    and its pod unschedulable. A PersistentVolume pre-bound through ``claimRef`` lets
    the real PV controller bind the claim exactly as it would bind a provisioned
    volume. The PVs are labelled with the namespace and deleted with it. Their hostPath
    is a placeholder unless ``host_path`` names a real directory (on the real node).
    """
    bound = []
    for pvc in kube.core.list_namespaced_persistent_volume_claim(namespace).items:
        if pvc.status.phase != "Pending" or pvc.spec.volume_name:
            continue
        name = f"{namespace}-{pvc.metadata.name}"[:253]
        pv = client.V1PersistentVolume(
            metadata=client.V1ObjectMeta(name=name, labels={TEST_NAMESPACE_LABEL: namespace}),
            spec=client.V1PersistentVolumeSpec(
                capacity={"storage": pvc.spec.resources.requests["storage"]},
                access_modes=pvc.spec.access_modes,
                persistent_volume_reclaim_policy="Retain",
                storage_class_name=pvc.spec.storage_class_name or "",
                host_path=client.V1HostPathVolumeSource(path=f"/fake-volumes/{name}")
                if host_path is None
                else client.V1HostPathVolumeSource(path=host_path, type="Directory"),
                claim_ref=client.V1ObjectReference(namespace=namespace, name=pvc.metadata.name),
            ),
        )
        kube.core.create_persistent_volume(pv)
        bound.append(pvc.metadata.name)
    return bound


def create_bound_claim(kube: Kube, namespace: str, name: str, size: str, access_modes: list[str], host_path: str | None = None) -> None:
    """An existing, Bound claim (what a user prepares before pointing a chart at it); see bind_pending_claims."""
    pvc = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=access_modes,
            storage_class_name="",
            resources=client.V1VolumeResourceRequirements(requests={"storage": size}),
        ),
    )
    kube.core.create_namespaced_persistent_volume_claim(namespace, pvc)
    bind_pending_claims(kube, namespace, host_path)
    wait_for(
        f"claim {namespace}/{name} to be Bound",
        lambda: kube.core.read_namespaced_persistent_volume_claim(name, namespace).status.phase == "Bound",
        timeout_s=30,
    )


def delete_test_volumes(kube: Kube, namespace: str) -> None:
    for pv in kube.core.list_persistent_volume(label_selector=f"{TEST_NAMESPACE_LABEL}={namespace}").items:
        try:
            kube.core.delete_persistent_volume(pv.metadata.name)
        except ApiException as e:
            if e.status != 404:
                raise


class Namespaces:
    """Creates labelled test namespaces and deletes them with their test volumes."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def create(self, hint: str, labels: dict[str, str] | None = None, exact: bool = False) -> str:
        """A namespace named ``<hint>-<random>``, or ``hint`` itself with ``exact`` (a name a chart's values refer to)."""
        base = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")[:40].rstrip("-")
        name = hint if exact else f"{base or 't'}-{secrets.token_hex(3)}"
        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={**TEST_LABEL, **(labels or {})}))
        self.kube.core.create_namespace(body)
        return name

    def delete(self, name: str) -> None:
        try:
            self.kube.core.delete_namespace(name, propagation_policy="Background")
        except ApiException as e:
            if e.status != 404:
                raise
        delete_test_volumes(self.kube, name)


def delete_and_wait_for_pods(kube: Kube, namespaces: Namespaces, namespace: str) -> None:
    """Delete the namespace and wait until its pods are gone, so they free their GPUs."""
    namespaces.delete(namespace)
    wait_for(
        f"the pods of namespace {namespace} to be deleted",
        lambda: not kube.core.list_namespaced_pod(namespace).items,
        GONE_TIMEOUT_S,
    )
