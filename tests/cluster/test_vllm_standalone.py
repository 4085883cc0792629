"""vllm-standalone installed with helm into the cluster: scheduling, rollout, lifecycle.

Pods never run an engine here (kwok marks them Ready), so these tests check what the
control plane does with the chart's objects: Pod Security admission, the scheduler's
placement by CPU, memory, GPUs, node labels and taints, Deployment rollouts, and
helm's release lifecycle against a real API server.
"""

from __future__ import annotations

import yaml
from kubernetes import client

from .kube import (
    GPU,
    GPU_PRODUCT_LABEL,
    SCHEDULED_TIMEOUT_S,
    Kube,
    describe_namespace,
    events_for,
    pods,
    wait_deployment_available,
    wait_for,
)
from .presets import CPU_TINY, H100_TP4, TINY_CLAIM, install_cpu_tiny, install_h100_preset, upgrade_cpu_tiny
from .releases import RELEASE, history, manifest_objects, wait_release_gone

H100 = "NVIDIA-H100-80GB-HBM3"
# gpu.count `auto` asks tensorParallelSize x pipelineParallelSize GPUs (4 x 1 here)
H100_TP4_GPUS = str(yaml.safe_load(H100_TP4.read_text())["defaults"]["engine"]["tensorParallelSize"])
MORE_GPUS_THAN_ANY_NODE = 16  # the largest fake node has 8
MAX_NUM_SEQS_INSTALLED = yaml.safe_load(CPU_TINY.read_text())["defaults"]["engine"]["maxNumSeqs"]
MAX_NUM_SEQS_UPGRADED = MAX_NUM_SEQS_INSTALLED + 1

AVAILABLE_TIMEOUT_S = 90
UNSCHEDULABLE_TIMEOUT_S = 60
HELM_WAIT = ("--wait", "--timeout", f"{AVAILABLE_TIMEOUT_S}s")


# ---------------------------------------------------------------- helpers

def release_selector(release: str = RELEASE) -> dict[str, str]:
    return {"app.kubernetes.io/instance": release, "app.kubernetes.io/component": "engine"}


def engine_deployment(kube: Kube, namespace: str) -> client.V1Deployment:
    selector = ",".join(f"{k}={v}" for k, v in release_selector().items())
    found = kube.apps.list_namespaced_deployment(namespace, label_selector=selector).items
    assert len(found) == 1, f"expected one engine Deployment, found {[d.metadata.name for d in found]}"
    return found[0]


def engine_args(deployment: client.V1Deployment) -> list[str]:
    container = next(c for c in deployment.spec.template.spec.containers if c.name == "vllm")
    return [*(container.command or []), *(container.args or [])]


def scheduled_engine_pod(kube: Kube, namespace: str) -> client.V1Pod:
    def probe():
        found = [p for p in pods(kube, namespace, release_selector()) if p.spec.node_name]
        return found[0] if found else None

    return wait_for("the engine pod to be scheduled", probe, SCHEDULED_TIMEOUT_S, lambda: describe_namespace(kube, namespace))


def engine_gpu_limit(pod: client.V1Pod) -> str | None:
    container = next(c for c in pod.spec.containers if c.name == "vllm")
    return (container.resources.limits or {}).get(GPU)


# ---------------------------------------------------------------- install

def test_cpu_tiny_preset_becomes_available_in_a_restricted_namespace(helm, kube: Kube, namespace: str):
    install_cpu_tiny(helm, kube, namespace)

    deployment = engine_deployment(kube, namespace)
    wait_deployment_available(kube, namespace, deployment.metadata.name, AVAILABLE_TIMEOUT_S)
    [pod] = pods(kube, namespace, release_selector())
    assert pod.spec.node_name
    assert pod.status.phase == "Running"


def test_cpu_tiny_pod_is_placed_on_a_cpu_node(helm, kube: Kube, namespace: str):
    install_cpu_tiny(helm, kube, namespace)

    node = kube.core.read_node(scheduled_engine_pod(kube, namespace).spec.node_name)
    assert GPU_PRODUCT_LABEL not in (node.metadata.labels or {})


def test_h100_preset_pod_lands_on_an_h100_node(helm, kube: Kube, namespace: str):
    install_h100_preset(helm, kube, namespace)

    pod = scheduled_engine_pod(kube, namespace)
    node = kube.core.read_node(pod.spec.node_name)
    assert node.metadata.labels[GPU_PRODUCT_LABEL] == H100
    # the node is tainted for GPUs only: the preset's toleration is what let it in
    assert any(t.key == GPU for t in node.spec.taints or [])
    assert any(t.key == GPU and t.effect == "NoSchedule" for t in pod.spec.tolerations or [])


def test_h100_preset_pod_asks_four_gpus(helm, kube: Kube, namespace: str):
    install_h100_preset(helm, kube, namespace)

    assert engine_gpu_limit(scheduled_engine_pod(kube, namespace)) == H100_TP4_GPUS


def test_h100_preset_becomes_available(helm, kube: Kube, namespace: str):
    install_h100_preset(helm, kube, namespace)

    wait_deployment_available(kube, namespace, engine_deployment(kube, namespace).metadata.name, AVAILABLE_TIMEOUT_S)


def test_more_gpus_than_any_node_has_stays_pending_as_insufficient(helm, kube: Kube, namespace: str):
    # Weights on an emptyDir: with the preset's claim the first scheduling attempt can
    # fail on the not-yet-bound claim, and the scheduler keeps the first message of a
    # repeated FailedScheduling event, which would hide the GPU shortage.
    install_h100_preset(
        helm, kube, namespace,
        "--set", f"defaults.gpu.count={MORE_GPUS_THAN_ANY_NODE}",
        "--set", "defaults.storage.type=emptyDir",
    )

    def insufficient_gpu_event():
        for pod in pods(kube, namespace, release_selector()):
            for event in events_for(kube, namespace, "Pod", pod.metadata.name, reason="FailedScheduling"):
                if f"Insufficient {GPU}" in (event.message or ""):
                    return pod.metadata.name, event.message
        return None

    pod_name, message = wait_for(
        f"a FailedScheduling event naming Insufficient {GPU}",
        insufficient_gpu_event,
        UNSCHEDULABLE_TIMEOUT_S,
        lambda: describe_namespace(kube, namespace),
    )
    pod = kube.core.read_namespaced_pod(pod_name, namespace)
    assert engine_gpu_limit(pod) == str(MORE_GPUS_THAN_ANY_NODE)
    assert pod.status.phase == "Pending", message
    assert pod.spec.node_name is None, message
    [scheduled] = [c for c in pod.status.conditions if c.type == "PodScheduled"]
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
    assert f"Insufficient {GPU}" in scheduled.message


# ---------------------------------------------------------------- lifecycle

def test_upgrade_with_changed_values_rolls_out_the_new_spec(helm, kube: Kube, namespace: str):
    install_cpu_tiny(helm, kube, namespace, *HELM_WAIT)

    upgrade_cpu_tiny(helm, namespace, "--set", f"defaults.engine.maxNumSeqs={MAX_NUM_SEQS_UPGRADED}", *HELM_WAIT)

    deployment = wait_deployment_available(kube, namespace, engine_deployment(kube, namespace).metadata.name, AVAILABLE_TIMEOUT_S)
    assert f"--max-num-seqs={MAX_NUM_SEQS_UPGRADED}" in engine_args(deployment)
    [pod] = pods(kube, namespace, release_selector())
    assert f"--max-num-seqs={MAX_NUM_SEQS_UPGRADED}" in next(c for c in pod.spec.containers if c.name == "vllm").args
    assert [(h["revision"], h["status"]) for h in history(helm, namespace)] == [(1, "superseded"), (2, "deployed")]


def test_rollback_restores_the_previous_values(helm, kube: Kube, namespace: str):
    install_cpu_tiny(helm, kube, namespace, *HELM_WAIT)
    upgrade_cpu_tiny(helm, namespace, "--set", f"defaults.engine.maxNumSeqs={MAX_NUM_SEQS_UPGRADED}", *HELM_WAIT)

    helm("rollback", RELEASE, "1", "--namespace", namespace, *HELM_WAIT)

    deployment = wait_deployment_available(kube, namespace, engine_deployment(kube, namespace).metadata.name, AVAILABLE_TIMEOUT_S)
    assert f"--max-num-seqs={MAX_NUM_SEQS_INSTALLED}" in engine_args(deployment)
    last = history(helm, namespace)[-1]
    assert (last["revision"], last["status"]) == (3, "deployed")
    assert "Rollback to 1" in last["description"]


def test_uninstall_leaves_no_chart_owned_objects_behind(helm, kube: Kube, namespace: str):
    install_cpu_tiny(helm, kube, namespace, *HELM_WAIT)
    installed = manifest_objects(helm, namespace)
    assert installed, "the release installed nothing"

    helm("uninstall", RELEASE, "--namespace", namespace, *HELM_WAIT)

    wait_release_gone(kube, namespace, installed)
    # the claim the user created for the model is not the chart's and must survive
    assert kube.core.read_namespaced_persistent_volume_claim(TINY_CLAIM, namespace).status.phase == "Bound"


def test_uninstall_keeps_the_weights_claim_the_h100_preset_marks_keep(helm, kube: Kube, namespace: str):
    install_h100_preset(helm, kube, namespace)
    [claim] = kube.core.list_namespaced_persistent_volume_claim(namespace).items
    assert claim.metadata.annotations.get("helm.sh/resource-policy") == "keep"

    helm("uninstall", RELEASE, "--namespace", namespace, *HELM_WAIT)

    kept = kube.core.read_namespaced_persistent_volume_claim(claim.metadata.name, namespace)
    assert kept.metadata.deletion_timestamp is None
    assert kept.metadata.uid == claim.metadata.uid
