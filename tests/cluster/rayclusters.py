"""What the real KubeRay operator made of a kuberay-llm release: RayService, RayCluster, pods.

Several test modules install kuberay-llm presets and then look at the same things:
the release's RayService, the RayCluster the operator created for it and that
cluster's head and worker pods. Under kwok no Ray process runs, so these helpers
wait for objects to exist, never for Ray to be Ready.
"""

from __future__ import annotations

from kubernetes import client

from .kube import Kube, describe_namespace, pods, wait_for
from .releases import RELEASE

RAY_GROUP, RAY_VERSION_API = "ray.io", "v1"
RAYSERVICE_NAME = f"{RELEASE}-kuberay-llm"
OPERATOR_TIMEOUT_S = 90  # RayService -> RayCluster -> pods, by the operator


def rayservice(kube: Kube, namespace: str) -> dict:
    return kube.custom.get_namespaced_custom_object(RAY_GROUP, RAY_VERSION_API, namespace, "rayservices", RAYSERVICE_NAME)


def owned_rayclusters(kube: Kube, namespace: str) -> list[dict]:
    items = kube.custom.list_namespaced_custom_object(RAY_GROUP, RAY_VERSION_API, namespace, "rayclusters")["items"]
    return [
        rc
        for rc in items
        if any(o["kind"] == "RayService" and o["name"] == RAYSERVICE_NAME for o in rc["metadata"].get("ownerReferences", []))
    ]


def wait_raycluster(kube: Kube, namespace: str) -> dict:
    return wait_for(
        f"the operator to create a RayCluster for RayService {RAYSERVICE_NAME}",
        lambda: owned_rayclusters(kube, namespace),
        OPERATOR_TIMEOUT_S,
        lambda: describe_namespace(kube, namespace),
    )[0]


def cluster_pods(kube: Kube, namespace: str, raycluster: dict, node_type: str) -> list[client.V1Pod]:
    selector = {"ray.io/cluster": raycluster["metadata"]["name"], "ray.io/node-type": node_type}
    return pods(kube, namespace, selector)


def wait_cluster_pods(kube: Kube, namespace: str, raycluster: dict, workers: int) -> dict[str, list[client.V1Pod]]:
    """The head pod and ``workers`` worker pods of the RayCluster, once all exist."""

    def probe():
        found = {t: cluster_pods(kube, namespace, raycluster, t) for t in ("head", "worker")}
        return found if len(found["head"]) == 1 and len(found["worker"]) == workers else None

    return wait_for(
        f"1 head and {workers} worker pods of RayCluster {raycluster['metadata']['name']}",
        probe,
        OPERATOR_TIMEOUT_S,
        lambda: describe_namespace(kube, namespace),
    )


def ray_container_of(pod: client.V1Pod) -> client.V1Container:
    # KubeRay's convention: the Ray container is the first one
    return pod.spec.containers[0]
