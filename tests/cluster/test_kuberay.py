"""kuberay-llm installed with helm: the real KubeRay operator builds the Ray cluster.

Under kwok no Ray process runs, so the RayService never reports Ready (its status
comes from the Ray dashboard). What is tested is what the chart and the operator
create against a real API server: the RayService with the serve_app configuration,
the RayCluster, and head and worker pods carrying the GPUs, secret-backed
environment and volumes the preset asked for, placed by the real scheduler in a
namespace that enforces the restricted Pod Security profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pytest
import yaml
from kubernetes import client

from serve_app.config import AppConfig

from .kube import (
    GONE_TIMEOUT_S,
    GPU,
    GPU_PRODUCT_LABEL,
    RESTRICTED,
    SCHEDULED_TIMEOUT_S,
    Kube,
    Namespaces,
    delete_and_wait_for_pods,
    describe_namespace,
    events_for,
    pods,
    wait_for,
    wait_scheduled,
)
from .presets import API_KEY_KEY, API_KEY_SECRET, HF_TOKEN_KEY, HF_TOKEN_SECRET, KUBERAY_CHART, KUBERAY_PRESETS, L4_PRESET, install_kuberay_llm
from .rayclusters import owned_rayclusters, ray_container_of, rayservice, wait_cluster_pods, wait_raycluster
from .releases import RELEASE, history, manifest_objects, values_args, wait_release_gone

MULTINODE_PRESET = KUBERAY_PRESETS / "llama-3.1-405b-tp8-pp4-multinode.yaml"
# the environment variables the chart maps the presets' Secrets to
HF_TOKEN_ENV, API_KEY_ENV = "HF_TOKEN", "SERVE_APP_API_KEY"
MODEL_CACHE_VOLUME, MODEL_CACHE_MOUNT = "model-cache", "/models"
SHM_VOLUME = "shm"


def preset(path) -> dict:
    return yaml.safe_load(path.read_text())


L4_GROUP = preset(L4_PRESET)["workerGroups"][0]
MULTINODE_GROUP = preset(MULTINODE_PRESET)["workerGroups"][0]


@dataclass(frozen=True)
class Release:
    namespace: str
    name: str = RELEASE


# ---------------------------------------------------------------- the reference preset, installed once


@pytest.fixture(scope="module")
def l4_release(helm, kube: Kube, namespaces: Namespaces) -> Iterator[Release]:
    """The chart's reference preset (Llama 3.1 8B, 2 x 1 L4) installed into a restricted namespace."""
    namespace = namespaces.create("kuberay-l4", RESTRICTED)
    try:
        install_kuberay_llm(helm, kube, namespace, L4_PRESET)
        yield Release(namespace)
    finally:
        delete_and_wait_for_pods(kube, namespaces, namespace)


@pytest.fixture(scope="module")
def l4_raycluster(kube: Kube, l4_release: Release) -> dict:
    return wait_raycluster(kube, l4_release.namespace)


@pytest.fixture(scope="module")
def l4_pods(kube: Kube, l4_release: Release, l4_raycluster: dict) -> dict[str, list[client.V1Pod]]:
    return wait_cluster_pods(kube, l4_release.namespace, l4_raycluster, workers=L4_GROUP["replicas"])


def test_rayservice_carries_a_serve_config_that_serve_app_accepts(kube: Kube, l4_release: Release):
    svc = rayservice(kube, l4_release.namespace)
    [app] = yaml.safe_load(svc["spec"]["serveConfigV2"])["applications"]
    assert app["import_path"] == "serve_app:build_app"
    config = AppConfig.model_validate(app["args"])
    assert [m.id for m in config.models] == [m["id"] for m in preset(L4_PRESET)["models"]]


def test_operator_creates_one_raycluster_with_the_preset_worker_group(kube: Kube, l4_release: Release, l4_raycluster: dict):
    assert len(owned_rayclusters(kube, l4_release.namespace)) == 1
    [group] = l4_raycluster["spec"]["workerGroupSpecs"]
    assert (group["groupName"], group["replicas"]) == (L4_GROUP["groupName"], L4_GROUP["replicas"])


def test_each_worker_pod_requests_the_gpus_of_its_group(l4_pods: dict[str, list[client.V1Pod]]):
    for pod in l4_pods["worker"]:
        resources = ray_container_of(pod).resources
        assert (resources.requests[GPU], resources.limits[GPU]) == (str(L4_GROUP["gpus"]), str(L4_GROUP["gpus"]))


def test_worker_pods_land_on_separate_single_gpu_l4_nodes(kube: Kube, l4_release: Release, l4_pods: dict[str, list[client.V1Pod]]):
    scheduled = wait_scheduled(kube, l4_release.namespace, [p.metadata.name for p in l4_pods["worker"]])
    nodes = [kube.core.read_node(p.spec.node_name) for p in scheduled]
    assert {n.metadata.labels.get(GPU_PRODUCT_LABEL) for n in nodes} == {"NVIDIA-L4"}
    # each fake L4 node has one GPU: two 1-GPU workers must be spread over two nodes
    assert len({n.metadata.name for n in nodes}) == len(nodes) == L4_GROUP["replicas"]


def test_head_pod_requests_no_gpus_and_runs_on_a_cpu_node(kube: Kube, l4_release: Release, l4_pods: dict[str, list[client.V1Pod]]):
    [head] = l4_pods["head"]
    resources = ray_container_of(head).resources
    assert GPU not in (resources.limits or {}) and GPU not in (resources.requests or {})
    [head] = wait_scheduled(kube, l4_release.namespace, [head.metadata.name])
    assert GPU_PRODUCT_LABEL not in (kube.core.read_node(head.spec.node_name).metadata.labels or {})


@pytest.mark.parametrize("node_type", ["head", "worker"])
@pytest.mark.parametrize(("env_name", "secret", "key"), [(HF_TOKEN_ENV, HF_TOKEN_SECRET, HF_TOKEN_KEY), (API_KEY_ENV, API_KEY_SECRET, API_KEY_KEY)])
def test_ray_pods_read_tokens_from_their_secrets(l4_pods: dict[str, list[client.V1Pod]], node_type: str, env_name: str, secret: str, key: str):
    for pod in l4_pods[node_type]:
        env = {e.name: e for e in ray_container_of(pod).env or []}
        assert env[env_name].value is None
        ref = env[env_name].value_from.secret_key_ref
        assert (ref.name, ref.key) == (secret, key)


@pytest.mark.parametrize("node_type", ["head", "worker"])
def test_ray_pods_mount_the_model_cache_claim(l4_pods: dict[str, list[client.V1Pod]], node_type: str):
    for pod in l4_pods[node_type]:
        claim = {v.name: v for v in pod.spec.volumes}[MODEL_CACHE_VOLUME].persistent_volume_claim
        assert claim.claim_name == f"{RELEASE}-kuberay-llm-model-cache"
        assert MODEL_CACHE_MOUNT in {m.mount_path for m in ray_container_of(pod).volume_mounts if m.name == MODEL_CACHE_VOLUME}


def test_worker_pods_mount_shared_memory_of_the_preset_size(l4_pods: dict[str, list[client.V1Pod]]):
    for pod in l4_pods["worker"]:
        shm = {v.name: v for v in pod.spec.volumes}[SHM_VOLUME]
        assert (shm.empty_dir.medium, shm.empty_dir.size_limit) == ("Memory", L4_GROUP["shmSize"])
        assert "/dev/shm" in {m.mount_path for m in ray_container_of(pod).volume_mounts if m.name == SHM_VOLUME}


def test_every_pod_the_operator_made_was_admitted_as_restricted(kube: Kube, l4_release: Release, l4_raycluster: dict, l4_pods):
    labels = kube.core.read_namespace(l4_release.namespace).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    # the operator records a failed pod creation (e.g. a Pod Security rejection) as an event
    failures = [e.message for e in events_for(kube, l4_release.namespace, "RayCluster", l4_raycluster["metadata"]["name"]) if e.type == "Warning"]
    assert not failures
    for pod in [*l4_pods["head"], *l4_pods["worker"]]:
        assert pod.spec.security_context.run_as_non_root is True
        for c in [*pod.spec.containers, *(pod.spec.init_containers or [])]:
            assert c.security_context.allow_privilege_escalation is False, c.name
            assert c.security_context.capabilities.drop == ["ALL"], c.name


# ---------------------------------------------------------------- multi-host


def test_multinode_replica_asks_its_hosts_together_and_waits_for_gpus(helm, kube: Kube, namespaces: Namespaces):
    """405B TP8 x PP4: one replica is 4 pods of 8 GPUs; the 2 fake H100 nodes hold 2 of them."""
    namespace = namespaces.create("kuberay-multinode", RESTRICTED)
    try:
        install_kuberay_llm(helm, kube, namespace, MULTINODE_PRESET)
        raycluster = wait_raycluster(kube, namespace)
        hosts = MULTINODE_GROUP["numOfHosts"] * MULTINODE_GROUP["replicas"]
        workers = wait_cluster_pods(kube, namespace, raycluster, workers=hosts)["worker"]
        assert all(ray_container_of(p).resources.limits[GPU] == str(MULTINODE_GROUP["gpus"]) for p in workers)

        def placement():
            current = [kube.core.read_namespaced_pod(p.metadata.name, namespace) for p in workers]
            placed = [p for p in current if p.spec.node_name]
            waiting = [
                p for p in current
                if any(c.type == "PodScheduled" and c.reason == "Unschedulable" and f"Insufficient {GPU}" in (c.message or "") for c in p.status.conditions or [])
            ]
            return (placed, waiting) if len(placed) + len(waiting) == hosts and len(placed) == 2 else None

        placed, waiting = wait_for("2 hosts placed and 2 waiting for GPUs", placement, SCHEDULED_TIMEOUT_S, lambda: describe_namespace(kube, namespace))
        assert len({p.spec.node_name for p in placed}) == 2
        assert len(waiting) == hosts - 2
    finally:
        delete_and_wait_for_pods(kube, namespaces, namespace)


# ---------------------------------------------------------------- lifecycle


def test_upgrade_changes_the_rayservice_in_place(helm, kube: Kube, namespace: str):
    install_kuberay_llm(helm, kube, namespace, L4_PRESET)
    before = rayservice(kube, namespace)

    helm("upgrade", RELEASE, KUBERAY_CHART, "--namespace", namespace, *values_args(L4_PRESET), "--set", "models[0].maxQueuedRequests=128")

    after = rayservice(kube, namespace)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    [app] = yaml.safe_load(after["spec"]["serveConfigV2"])["applications"]
    assert app["args"]["models"][0]["max_queued_requests"] == 128
    assert [(h["revision"], h["status"]) for h in history(helm, namespace)] == [(1, "superseded"), (2, "deployed")]


def test_rollback_restores_the_previous_serve_config(helm, kube: Kube, namespace: str):
    install_kuberay_llm(helm, kube, namespace, L4_PRESET)
    installed = rayservice(kube, namespace)["spec"]["serveConfigV2"]
    helm("upgrade", RELEASE, KUBERAY_CHART, "--namespace", namespace, *values_args(L4_PRESET), "--set", "models[0].maxQueuedRequests=128")

    helm("rollback", RELEASE, "1", "--namespace", namespace)

    assert rayservice(kube, namespace)["spec"]["serveConfigV2"] == installed
    assert "Rollback to 1" in history(helm, namespace)[-1]["description"]


def test_uninstall_removes_the_ray_cluster_and_keeps_the_model_cache(helm, kube: Kube, namespace: str):
    install_kuberay_llm(helm, kube, namespace, L4_PRESET)
    wait_raycluster(kube, namespace)
    installed = [o for o in manifest_objects(helm, namespace) if o[1] != "PersistentVolumeClaim"]

    helm("uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", f"{GONE_TIMEOUT_S}s")

    wait_release_gone(kube, namespace, installed)
    wait_for("the operator's RayCluster to be garbage-collected", lambda: not owned_rayclusters(kube, namespace), GONE_TIMEOUT_S)
    wait_for("the Ray pods to be deleted", lambda: not pods(kube, namespace, {"ray.io/is-ray-node": "yes"}), GONE_TIMEOUT_S)
    # modelCache.keep (default true): the weights survive a reinstall
    [claim] = kube.core.list_namespaced_persistent_volume_claim(namespace).items
    assert claim.metadata.annotations.get("helm.sh/resource-policy") == "keep"
    assert claim.metadata.deletion_timestamp is None
