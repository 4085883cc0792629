"""kuberay-llm's CPU preset on the real node: `helm install` ends in Ray pods that serve.

The real KubeRay operator turns the chart's RayService into a head pod (with the
autoscaler sidecar, which reaches the API server through the `kubernetes` Service) and a
worker pod, both running the serve_app image built from images/serve-app/Dockerfile.cpu.
Ray Serve deploys the chart's serveConfigV2; vLLM loads the tiny model on CPU. The
tests then talk to the chart's own OpenAI Service with the official client, through its
ClusterIP (kube-proxy), as a client inside the cluster would.
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from tests.cluster.kube import RESTRICTED, Kube, Namespaces, wait_for
from tests.cluster.rayclusters import RAY_GROUP, RAY_VERSION_API
from tests.cluster.releases import RELEASE, Helm, manifest_objects, values_args, wait_release_gone

from .charts import (
    CHARTS, OVERLAYS, PRESETS, Served, answers, assert_streams_a_chat, chat_answers, describe_release, first_ready_endpoint,
    openai_client, service_url, wait_rayservice_ready,
)
from .real_node import NODE_NAME

CHART = CHARTS / "kuberay-llm"
VALUES = values_args(PRESETS / "kuberay-llm" / "cpu-tiny.yaml", OVERLAYS / "kuberay-llm.yaml")
MODEL = "tiny-llama"
SERVICE = f"{RELEASE}-kuberay-llm-openai"
# Head start, worker start, Serve deploy and the engine loading the model, on 2 CPUs.
READY_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def served(kube: Kube, namespaces: Namespaces, helm: Helm, figures: dict[str, float]) -> Iterator[Served]:
    """The preset installed and serving: RayService Ready and the OpenAI Service answering."""
    namespace = namespaces.create("kuberay-llm", RESTRICTED)
    started = time.monotonic()
    helm("install", RELEASE, CHART, "--namespace", namespace, *VALUES)
    endpoint = first_ready_endpoint(kube, namespace, SERVICE, READY_TIMEOUT_S)
    answered = chat_answers(endpoint, MODEL)
    wait_rayservice_ready(kube, namespace, READY_TIMEOUT_S)
    url = service_url(kube, namespace, SERVICE)
    wait_for(f"{url}/v1/models to answer", lambda: answers(url), 120, lambda: describe_release(kube, namespace))
    figures["kuberay-llm: helm install to RayService Ready and serving"] = time.monotonic() - started
    yield Served(namespace, url, answered)
    helm("uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", "120s", check=False)
    namespaces.delete(namespace)


def test_the_ray_pods_run_on_the_real_node(kube: Kube, served: Served):
    pods = kube.core.list_namespaced_pod(served.namespace, label_selector="ray.io/is-ray-node=yes").items
    kinds = sorted(p.metadata.labels["ray.io/node-type"] for p in pods)
    assert kinds == ["head", "worker"], kinds
    for pod in pods:
        assert pod.spec.node_name == NODE_NAME
        assert pod.status.phase == "Running"
        assert all(s.ready and s.state.running for s in pod.status.container_statuses), pod.status.container_statuses


def test_the_head_runs_the_autoscaler_sidecar_against_the_api_server(kube: Kube, served: Served):
    """The sidecar needs the API from inside the pod; it stays up only if it can reach it."""
    (head,) = kube.core.list_namespaced_pod(served.namespace, label_selector="ray.io/node-type=head").items
    (sidecar,) = [s for s in head.status.container_statuses if s.name == "autoscaler"]
    assert sidecar.ready and sidecar.restart_count == 0, sidecar


def test_the_service_gets_a_pod_only_once_the_model_answers(served: Served):
    """The chart's Service selects pods whose Serve proxy KubeRay marked ready; the first one it routes to answers a chat at once."""
    assert served.answered_when_first_ready


def test_the_openai_service_lists_the_model(served: Served):
    models = openai_client(served.url).models.list()
    assert [m.id for m in models.data] == [MODEL]


def test_a_streamed_chat_completion_arrives_in_chunks(served: Served):
    assert_streams_a_chat(served.url, MODEL)


def test_helm_test_passes_against_the_running_release(helm: Helm, served: Served):
    result = helm("test", RELEASE, "--namespace", served.namespace, "--timeout", "300s", "--logs", timeout=360)
    assert "all models served: tiny-llama" in result.stdout, result.stdout


def test_uninstall_leaves_no_pod_or_secret_behind(kube: Kube, helm: Helm, served: Served):
    installed = manifest_objects(helm, served.namespace)
    helm("uninstall", RELEASE, "--namespace", served.namespace, "--wait", "--timeout", "120s")
    wait_release_gone(kube, served.namespace, installed)
    # The operator deletes the RayCluster it made, and the cluster's pods, after the RayService goes.
    wait_for(
        "the Ray pods to be deleted", lambda: not kube.core.list_namespaced_pod(served.namespace).items, 120,
        lambda: describe_release(kube, served.namespace),
    )
    assert kube.custom.list_namespaced_custom_object(RAY_GROUP, RAY_VERSION_API, served.namespace, "rayclusters")["items"] == []
    assert [s.metadata.name for s in kube.core.list_namespaced_secret(served.namespace).items] == []
    assert kube.core.list_namespaced_persistent_volume_claim(served.namespace).items == []
