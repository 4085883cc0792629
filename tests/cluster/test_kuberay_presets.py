"""The kuberay-llm presets for spot pools and fractional GPUs, scheduled on the fake nodes.

The simulated cluster labels every node with Karpenter's capacity type; one of the
two L4 nodes is a spot node. The spot preset must put its spot worker group there,
its on-demand group on the other L4 node and the head on an on-demand CPU node, with
the drain settings that let Serve finish streams within a reclaim notice. The
fractional-GPU preset packs two models onto one whole GPU that Kubernetes schedules
(the fractions are Ray's business inside the pod).
"""

from __future__ import annotations

import yaml
from kubernetes import client

from .kube import GPU, GPU_PRODUCT_LABEL, RESTRICTED, Kube, Namespaces, delete_and_wait_for_pods, wait_scheduled
from .presets import KUBERAY_PRESETS, install_kuberay_llm
from .rayclusters import ray_container_of, rayservice, wait_cluster_pods, wait_raycluster

SPOT_PRESET = KUBERAY_PRESETS / "llama-3.1-8b-spot-pool.yaml"
FRACTIONAL_PRESET = KUBERAY_PRESETS / "two-7b-models-one-gpu.yaml"
CAPACITY_LABEL = "karpenter.sh/capacity-type"


def node_labels(kube: Kube, pod: client.V1Pod) -> dict[str, str]:
    return kube.core.read_node(pod.spec.node_name).metadata.labels


def test_spot_preset_places_spot_workers_on_spot_nodes_and_the_rest_on_demand(helm, kube: Kube, namespaces: Namespaces):
    preset = yaml.safe_load(SPOT_PRESET.read_text())
    [spot_group] = [g["groupName"] for g in preset["workerGroups"] if g.get("spot")]
    namespace = namespaces.create("kuberay-spot", RESTRICTED)
    try:
        install_kuberay_llm(helm, kube, namespace, SPOT_PRESET)
        found = wait_cluster_pods(kube, namespace, wait_raycluster(kube, namespace), workers=len(preset["workerGroups"]))
        placed = wait_scheduled(kube, namespace, [p.metadata.name for p in [*found["head"], *found["worker"]]])

        for pod in placed:
            labels = node_labels(kube, pod)
            group = pod.metadata.labels.get("ray.io/group")
            want = "spot" if group == spot_group else "on-demand"
            assert labels[CAPACITY_LABEL] == want, f"{pod.metadata.name} ({group}) on {pod.spec.node_name}"
            if pod.metadata.labels["ray.io/node-type"] == "worker":
                assert labels[GPU_PRODUCT_LABEL] == "NVIDIA-L4"
        [spot] = [p for p in placed if p.metadata.labels.get("ray.io/group") == spot_group]
        drain = max(m["gracefulShutdownTimeoutS"] for m in preset["models"]) + preset["spot"]["preStopSleepSeconds"]
        assert spot.spec.termination_grace_period_seconds == drain
        assert ray_container_of(spot).lifecycle.pre_stop.sleep.seconds == preset["spot"]["preStopSleepSeconds"]
    finally:
        delete_and_wait_for_pods(kube, namespaces, namespace)


def test_fractional_gpu_preset_runs_both_models_on_one_scheduled_gpu(helm, kube: Kube, namespaces: Namespaces):
    namespace = namespaces.create("kuberay-fractional", RESTRICTED)
    try:
        install_kuberay_llm(helm, kube, namespace, FRACTIONAL_PRESET)
        raycluster = wait_raycluster(kube, namespace)
        [worker] = wait_cluster_pods(kube, namespace, raycluster, workers=1)["worker"]
        [worker] = wait_scheduled(kube, namespace, [worker.metadata.name])

        assert ray_container_of(worker).resources.limits[GPU] == "1"
        assert node_labels(kube, worker)[GPU_PRODUCT_LABEL] == "NVIDIA-H100-80GB-HBM3"
        [app] = yaml.safe_load(rayservice(kube, namespace)["spec"]["serveConfigV2"])["applications"]
        fractions = [m["accelerator"]["gpu_fraction"] for m in app["args"]["models"]]
        assert len(fractions) == 2 and sum(fractions) <= 1.0
    finally:
        delete_and_wait_for_pods(kube, namespaces, namespace)
