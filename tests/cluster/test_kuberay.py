"""The real KubeRay operator turns a RayService into a RayCluster and its pods.

Under kwok no Ray process runs, so the RayService never reports Ready (its status
comes from the Ray dashboard). What is tested is what the operator creates: the
RayCluster, and head and worker pods carrying the GPU resources, secret-backed
environment and volumes that the RayService asked for.

The `rayservice` fixture is the one place that deploys: for now a minimal manifest
written here. Swapping in `helm install charts/kuberay-llm` changes only that fixture
and the module constants the tests compare against (worker group, Secret, claim and
mount names); the tests themselves read what the operator created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pytest
from kubernetes import client

from tests.support.tools import versions

from .kube import RESTRICTED, Kube, Namespaces, create_bound_claim, describe_namespace, pods, wait_for

RAY_GROUP, RAY_VERSION_API = "ray.io", "v1"
RAYSERVICE_NAME = "llm"
WORKER_GROUP = "gpu-l4"
GPU = "nvidia.com/gpu"
WORKER_GPUS = "1"
SECRET_NAME = "hf-token"
SECRET_KEY = "token"
SECRET_ENV = "HF_TOKEN"
MODELS_CLAIM = "models"
MODELS_VOLUME = "models"
MODELS_MOUNT = "/models"
SHM_VOLUME = "dshm"
RAY_IMAGE = f"rayproject/ray:{versions()['RAY_VERSION']}-py311"

OPERATOR_TIMEOUT_S = 90  # RayService -> RayCluster -> pods, by the operator


@dataclass(frozen=True)
class DeployedRayService:
    namespace: str
    name: str


def restricted_container_security() -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def ray_container(name: str, resources: dict, extra_mounts: list[dict] = ()) -> dict:
    return {
        "name": name,
        "image": RAY_IMAGE,
        "resources": resources,
        "securityContext": restricted_container_security(),
        "env": [{"name": SECRET_ENV, "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": SECRET_KEY}}}],
        "volumeMounts": [{"name": MODELS_VOLUME, "mountPath": MODELS_MOUNT, "readOnly": True}, *extra_mounts],
    }


def minimal_rayservice() -> dict:
    """A RayService with a CPU head and one single-GPU worker group (restricted-safe)."""
    pod_security = {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
    models = {"name": MODELS_VOLUME, "persistentVolumeClaim": {"claimName": MODELS_CLAIM, "readOnly": True}}
    return {
        "apiVersion": f"{RAY_GROUP}/{RAY_VERSION_API}",
        "kind": "RayService",
        "metadata": {"name": RAYSERVICE_NAME},
        "spec": {
            "serveConfigV2": "applications:\n  - name: llm\n    import_path: serve_app:app\n    route_prefix: /\n",
            "rayClusterConfig": {
                "rayVersion": versions()["RAY_VERSION"],
                "headGroupSpec": {
                    "rayStartParams": {"num-cpus": "0"},
                    "template": {
                        "spec": {
                            "securityContext": pod_security,
                            "containers": [
                                ray_container(
                                    "ray-head",
                                    {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"memory": "4Gi"}},
                                )
                            ],
                            "volumes": [models],
                        }
                    },
                },
                "workerGroupSpecs": [
                    {
                        "groupName": WORKER_GROUP,
                        "replicas": 1,
                        "minReplicas": 1,
                        "maxReplicas": 1,
                        "rayStartParams": {},
                        "template": {
                            "spec": {
                                "securityContext": pod_security,
                                "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L4"},
                                "tolerations": [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}],
                                "containers": [
                                    ray_container(
                                        "ray-worker",
                                        {
                                            "requests": {"cpu": "4", "memory": "16Gi", GPU: WORKER_GPUS},
                                            "limits": {"memory": "16Gi", GPU: WORKER_GPUS},
                                        },
                                        [{"name": SHM_VOLUME, "mountPath": "/dev/shm"}],
                                    )
                                ],
                                "volumes": [models, {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}],
                            }
                        },
                    }
                ],
            },
        },
    }


@pytest.fixture(scope="module")
def rayservice(kube: Kube, namespaces: Namespaces) -> Iterator[DeployedRayService]:
    """Deploy the RayService under test into a fresh restricted namespace; yield where it is."""
    namespace = namespaces.create("kuberay", RESTRICTED)
    try:
        kube.core.create_namespaced_secret(
            namespace,
            client.V1Secret(metadata=client.V1ObjectMeta(name=SECRET_NAME), string_data={SECRET_KEY: "hf_test_not_a_token"}),
        )
        create_bound_claim(kube, namespace, MODELS_CLAIM, "10Gi", ["ReadOnlyMany"])
        kube.custom.create_namespaced_custom_object(
            RAY_GROUP, RAY_VERSION_API, namespace, "rayservices", minimal_rayservice()
        )
        yield DeployedRayService(namespace, RAYSERVICE_NAME)
    finally:
        namespaces.delete(namespace)


def owned_rayclusters(kube: Kube, svc: DeployedRayService) -> list[dict]:
    items = kube.custom.list_namespaced_custom_object(RAY_GROUP, RAY_VERSION_API, svc.namespace, "rayclusters")["items"]
    return [
        rc
        for rc in items
        if any(o["kind"] == "RayService" and o["name"] == svc.name for o in rc["metadata"].get("ownerReferences", []))
    ]


@pytest.fixture(scope="module")
def raycluster(kube: Kube, rayservice: DeployedRayService) -> dict:
    return wait_for(
        f"the operator to create a RayCluster for RayService {rayservice.name}",
        lambda: owned_rayclusters(kube, rayservice),
        OPERATOR_TIMEOUT_S,
        lambda: describe_namespace(kube, rayservice.namespace),
    )[0]


@pytest.fixture(scope="module")
def ray_pods(kube: Kube, rayservice: DeployedRayService, raycluster: dict) -> dict[str, client.V1Pod]:
    """The head and the worker pod of the RayCluster, by node type, once both exist."""
    name = raycluster["metadata"]["name"]

    def probe():
        found = {p.metadata.labels.get("ray.io/node-type"): p for p in pods(kube, rayservice.namespace, {"ray.io/cluster": name})}
        return found if {"head", "worker"} <= found.keys() else None

    return wait_for(f"head and worker pods of RayCluster {name}", probe, OPERATOR_TIMEOUT_S, lambda: describe_namespace(kube, rayservice.namespace))


def ray_container_of(pod: client.V1Pod) -> client.V1Container:
    # KubeRay's convention: the Ray container is the first one
    return pod.spec.containers[0]


def test_operator_creates_one_raycluster_for_the_rayservice(kube: Kube, rayservice: DeployedRayService, raycluster: dict):
    assert len(owned_rayclusters(kube, rayservice)) == 1
    assert [g["groupName"] for g in raycluster["spec"]["workerGroupSpecs"]] == [WORKER_GROUP]


def test_worker_pod_requests_the_gpus_of_its_group(ray_pods: dict[str, client.V1Pod]):
    worker = ray_container_of(ray_pods["worker"])
    assert worker.resources.limits[GPU] == WORKER_GPUS
    assert worker.resources.requests[GPU] == WORKER_GPUS


def test_head_pod_requests_no_gpus(ray_pods: dict[str, client.V1Pod]):
    head = ray_container_of(ray_pods["head"])
    assert GPU not in (head.resources.limits or {})
    assert GPU not in (head.resources.requests or {})


def test_worker_pod_is_scheduled_on_a_gpu_node(kube: Kube, rayservice: DeployedRayService, ray_pods: dict[str, client.V1Pod]):
    def scheduled():
        pod = kube.core.read_namespaced_pod(ray_pods["worker"].metadata.name, rayservice.namespace)
        return pod if pod.spec.node_name else None

    node = kube.core.read_node(wait_for("the worker pod to be scheduled", scheduled, OPERATOR_TIMEOUT_S).spec.node_name)
    assert node.status.allocatable.get(GPU) == WORKER_GPUS


@pytest.mark.parametrize("node_type", ["head", "worker"])
def test_ray_pods_take_the_secret_env_from_its_secret(ray_pods: dict[str, client.V1Pod], node_type: str):
    env = {e.name: e for e in ray_container_of(ray_pods[node_type]).env or []}
    ref = env[SECRET_ENV].value_from.secret_key_ref
    assert (ref.name, ref.key) == (SECRET_NAME, SECRET_KEY)
    assert env[SECRET_ENV].value is None


@pytest.mark.parametrize("node_type", ["head", "worker"])
def test_ray_pods_mount_the_model_claim(ray_pods: dict[str, client.V1Pod], node_type: str):
    pod = ray_pods[node_type]
    volumes = {v.name: v for v in pod.spec.volumes}
    assert volumes[MODELS_VOLUME].persistent_volume_claim.claim_name == MODELS_CLAIM
    mounts = {m.name: m for m in ray_container_of(pod).volume_mounts}
    assert (mounts[MODELS_VOLUME].mount_path, mounts[MODELS_VOLUME].read_only) == (MODELS_MOUNT, True)


def test_worker_pod_mounts_its_shared_memory_volume(ray_pods: dict[str, client.V1Pod]):
    pod = ray_pods["worker"]
    shm = {v.name: v for v in pod.spec.volumes}[SHM_VOLUME]
    assert shm.empty_dir.medium == "Memory"
    assert "/dev/shm" in {m.mount_path for m in ray_container_of(pod).volume_mounts if m.name == SHM_VOLUME}
