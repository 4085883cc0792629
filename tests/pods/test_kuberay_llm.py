"""kuberay-llm's CPU preset on the real node: `helm install` ends in Ray pods that serve.

The real KubeRay operator turns the chart's RayService into a head pod (with the
autoscaler sidecar, which reaches the API server through the `kubernetes` Service) and a
worker pod, both running the serve_app image built from images/serve-app/Dockerfile.cpu.
Ray Serve deploys the chart's serveConfigV2; vLLM loads the tiny model on CPU. The
tests then talk to the chart's own OpenAI Service with the official client, through its
ClusterIP (kube-proxy), as a client inside the cluster would.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

from tests.cluster.kube import RESTRICTED, Kube, Namespaces, wait_for
from tests.cluster.rayclusters import RAY_GROUP, RAY_VERSION_API
from tests.cluster.releases import RELEASE, Helm, manifest_objects, values_args, wait_release_gone

from . import alerts, dashboards, pictures
from . import prometheus as live
from .charts import (
    CHARTS, OVERLAYS, PRESETS, Served, answers, assert_streams_a_chat, chat_answers, describe_release, first_ready_endpoint,
    openai_client, service_url, streamed_chat, wait_rayservice_ready,
)
from .load import BackToBack, StreamingLoad, unknown_model_then_served
from .ray_state import DASHBOARD_PORT, describe_ray, head_ip
from .real_node import NODE_NAME, container_id, container_processes, create_prober, sigkill, tcp_open_from

CHART = CHARTS / "kuberay-llm"
PRESET = PRESETS / "kuberay-llm" / "cpu-tiny.yaml"
VALUES = values_args(PRESET, OVERLAYS / "kuberay-llm.yaml")
MODEL = "tiny-llama"
SERVICE = f"{RELEASE}-kuberay-llm-openai"
# Head start, worker start, Serve deploy and the engine loading the model, on 2 CPUs.
READY_TIMEOUT_S = 600
# A replacement replica: placement, the LLMServer actor, the engine loading the model.
RECOVERY_TIMEOUT_S = 300
# A rolling update's new replica: as above, while the old one serves a streaming load
# and Prometheus scrapes both Ray pods, on 2 CPUs (one full run took over 300 s).
UPGRADE_TIMEOUT_S = 600
# The model setting `helm upgrade` changes under load: the preset's context window, 2048.
UPGRADED_MAX_MODEL_LEN = 1024
# ...and the bound of the model's queue (the preset's is 256), which a later test fills.
UPGRADED_MAX_QUEUED = 4
# Clients sending back to back while the engine is replaced: more than that queue holds.
OUTAGE_CLIENTS = 8


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


def test_prometheus_scrapes_every_ray_pod_through_each_monitor_that_selects_it(kube: Kube, served: Served, prometheus: live.Prometheus):
    """The chart's PodMonitor and the observability chart's, through the chart's NetworkPolicy."""
    ray_pods = kube.core.list_namespaced_pod(served.namespace, label_selector="ray.io/node-type").items
    hosts = {pod.status.pod_ip for pod in ray_pods}
    assert len(hosts) == 2, hosts
    live.assert_monitors_scrape(kube, prometheus, served.namespace, hosts, {("PodMonitor", served.namespace), ("PodMonitor", live.NAMESPACE)})


def test_every_recording_rule_for_ray_records_the_release_under_load(served: Served, prometheus: live.Prometheus):
    live.assert_rules_record(prometheus, "llmstack-ray.rules", served.namespace, lambda: streamed_chat(served.url, MODEL, live.SHARED_PROMPT))


# Dashboard panels that show nothing for a kuberay-llm release on this machine, and why.
EMPTY_PANELS = {
    "Requests by HTTP status (vllm-standalone)": "vLLM's own HTTP server metrics; a Ray release's are Ray Serve's, on the ray-serve dashboard",
    "Preemptions / s": "Ray exports vLLM's preemption counter only after a first preemption, which the cpu-tiny KV cache never reaches",
    "Errors / s by route and code": "only 4xx/5xx answers make these series: the bad-request test below makes 404s, which the pictures show",
}


@pytest.mark.parametrize("dashboard", dashboards.dashboard_names())
def test_every_dashboard_panel_shows_data_for_the_release(dashboard: str, served: Served, prometheus: live.Prometheus):
    streamed_chat(served.url, MODEL, live.SHARED_PROMPT)
    dashboards.assert_shows_data(prometheus, dashboard, served.namespace, EMPTY_PANELS)


def test_the_dashboards_offer_the_release_and_its_model(served: Served, prometheus: live.Prometheus):
    for name in ("llm-engines", "ray-serve", "cost"):
        _, offered = dashboards.variables(prometheus, name, served.namespace)
        assert served.namespace in offered["namespace"] and MODEL in offered["model"], (name, offered)


# Ray's ports the chart's NetworkPolicy opens only between the release's own Ray pods.
GCS_PORT = 6379
# The namespace the chart's default `networkPolicy.serve.namespaces` lets call Serve.
INGRESS_NAMESPACE = "ingress-nginx"


@pytest.fixture(scope="module")
def reach(kube: Kube, namespaces: Namespaces, served: Served) -> Iterator[dict[str, dict[str, bool]]]:
    """What a pod in another namespace and one in the ingress controller's can open: namespace kind -> target -> open.

    Targets: the head's GCS and dashboard ports (pod IP) and the OpenAI Service's Serve port (ClusterIP).
    """
    created = [namespaces.create("outsider", RESTRICTED), namespaces.create(INGRESS_NAMESPACE, RESTRICTED, exact=True)]
    head = head_ip(kube, served.namespace)
    service = kube.core.read_namespaced_service(SERVICE, served.namespace).spec
    targets = {"gcs": (head, GCS_PORT), "dashboard": (head, DASHBOARD_PORT), "serve": (service.cluster_ip, service.ports[0].port)}
    result = {}
    for kind, namespace in zip(("outsider", "ingress"), created):
        prober = create_prober(kube, namespace)
        result[kind] = {name: tcp_open_from(kube, namespace, prober, *target) for name, target in targets.items()}
    yield result
    for namespace in created:
        namespaces.delete(namespace)


def test_ray_gcs_and_dashboard_listen_for_the_node(kube: Kube, served: Served):
    """The ports the policy closes are open from the node itself (kubelet probes, the operator's proxy): a closed port below is the policy's doing."""
    for port in (GCS_PORT, DASHBOARD_PORT):
        with socket.create_connection((head_ip(kube, served.namespace), port), timeout=3):
            pass


def test_a_pod_in_another_namespace_reaches_neither_ray_nor_serve(reach: dict[str, dict[str, bool]]):
    assert reach["outsider"] == {"gcs": False, "dashboard": False, "serve": False}


def test_the_ingress_controller_namespace_reaches_serve_and_nothing_else(reach: dict[str, dict[str, bool]]):
    assert reach["ingress"] == {"gcs": False, "dashboard": False, "serve": True}


def test_bad_requests_are_answered_4xx_and_never_count_as_errors(served: Served, prometheus: live.Prometheus):
    """A request for a model the release does not serve is the client's mistake: Ray Serve counts
    the 404s as HTTP errors, and the 5xx ratio LLMHighErrorRatio reads stays 0."""
    client_errors = f'ray_serve_num_http_error_requests_total{{namespace="{served.namespace}", error_code="404"}}'
    alerts.assert_client_errors_are_not_errors(prometheus, served.namespace, client_errors, lambda: unknown_model_then_served(served.url, MODEL))


def describe(kube: Kube, namespace: str, cluster_dir: Path) -> str:
    """Pods, events and logs, then what Ray says of Serve and its resources, and Ray's own logs."""
    return f"{describe_release(kube, namespace)}\n--- ray\n{describe_ray(kube, namespace, cluster_dir)}"


def worker_pod(kube: Kube, namespace: str):
    (pod,) = kube.core.list_namespaced_pod(namespace, label_selector="ray.io/node-type=worker").items
    return pod


def engine_pids(cluster_dir: Path, pod) -> set[int]:
    processes = container_processes(cluster_dir, container_id(pod, "ray-worker"))
    return {pid for pid, cmd in processes.items() if "EngineCore" in cmd}


def test_a_killed_engine_core_is_replaced_by_serve_and_serves_again(kube: Kube, cluster_dir: Path, served: Served, figures: dict[str, float]):
    """SIGKILL of vLLM's engine process in the worker: Serve's health check fails, Serve replaces the replica, the pod itself is not restarted."""
    pod = worker_pod(kube, served.namespace)
    restarts = sum(s.restart_count for s in pod.status.container_statuses)
    killed_at = time.monotonic()
    killed = sigkill(cluster_dir, pod, "ray-worker", "EngineCore")
    wait_for(
        "a new engine process in the worker", lambda: engine_pids(cluster_dir, pod) - {killed}, RECOVERY_TIMEOUT_S,
        lambda: describe(kube, served.namespace, cluster_dir),
    )
    wait_for("the Service to answer a chat again", lambda: chat_answers(served.url, MODEL), RECOVERY_TIMEOUT_S, lambda: describe(kube, served.namespace, cluster_dir))
    figures["kuberay-llm: engine SIGKILL to serving again"] = time.monotonic() - killed_at
    pod = worker_pod(kube, served.namespace)
    assert sum(s.restart_count for s in pod.status.container_statuses) == restarts, pod.status.container_statuses


def upgraded_values(directory: Path) -> Path:
    """The preset's models with the first one's context window and queue bound changed (a list is replaced whole by a later values file)."""
    models = yaml.safe_load(PRESET.read_text())["models"]
    models[0]["engine"]["maxModelLen"] = UPGRADED_MAX_MODEL_LEN
    models[0]["maxQueuedRequests"] = UPGRADED_MAX_QUEUED
    path = directory / "upgrade.yaml"
    path.write_text(yaml.safe_dump({"models": models}))
    return path


def served_context_length(url: str) -> int | None:
    try:
        (card,) = httpx.get(f"{url}/v1/models", timeout=10).json()["data"]
    except httpx.HTTPError:
        return None
    return card["metadata"]["max_request_context_length"]


# Ray Serve's alerts on a lost replica, all of which a killed engine of a one-replica model fires.
REPLICA_ALERTS = ["RayServeReplicaUnhealthy", "RayServeNoHealthyReplicas", "RayServeDeploymentUnhealthy"]
# Serve's health check of a replica (Ray's default period) finds the dead engine.
HEALTH_CHECK_PERIOD_S = 10
# The observability chart's scrape of the Ray pods in the tier (tests/pods/values/observability.yaml).
RAY_SCRAPE = "15s"


def test_a_killed_engine_fires_the_ray_serve_replica_alerts_and_they_resolve(
    kube: Kube, cluster_dir: Path, served: Served, prometheus: live.Prometheus, figures: dict[str, float]
):
    """The replica fails its health check: Serve reports it unhealthy (0), the deployment
    UNHEALTHY and no healthy replica, until the replacement serves; then all three resolve."""
    alerts.wait(prometheus, REPLICA_ALERTS, served.namespace, firing=False)  # the earlier kill's, resolved
    killed_at = time.monotonic()
    sigkill(cluster_dir, worker_pod(kube, served.namespace), "ray-worker", "EngineCore")
    alerts.wait(prometheus, REPLICA_ALERTS, served.namespace, firing=True)
    fired_after = time.monotonic() - killed_at
    wait_for("the Service to answer a chat again", lambda: chat_answers(served.url, MODEL), RECOVERY_TIMEOUT_S, lambda: describe(kube, served.namespace, cluster_dir))
    recovered_at = time.monotonic()
    alerts.wait(prometheus, REPLICA_ALERTS, served.namespace, firing=False)
    figures["kuberay-llm: engine SIGKILL to the Ray Serve replica alerts firing"] = fired_after
    figures["kuberay-llm: serving again to the Ray Serve replica alerts resolved"] = time.monotonic() - recovered_at
    assert fired_after <= max(alerts.deadline_s(key, RAY_SCRAPE, HEALTH_CHECK_PERIOD_S) for key in (
        "serveReplicaUnhealthy", "serveNoHealthyReplicas", "serveDeploymentUnhealthy")), fired_after


def test_helm_upgrade_of_a_model_setting_under_streaming_load_fails_no_request(
    kube: Kube, cluster_dir: Path, helm: Helm, served: Served, figures: dict[str, float], tmp_path: Path
):
    """A changed context window updates serveConfigV2 in place: Serve starts the new replicas beside the old ones, then drains them, while two clients stream."""
    (cluster,) = kube.custom.list_namespaced_custom_object(RAY_GROUP, RAY_VERSION_API, served.namespace, "rayclusters")["items"]
    pod = worker_pod(kube, served.namespace)
    before = engine_pids(cluster_dir, pod)
    with StreamingLoad(served.url, MODEL) as load:
        load.wait_served(4)
        started = time.monotonic()
        helm("upgrade", RELEASE, CHART, "--namespace", served.namespace, *VALUES, "--values", str(upgraded_values(tmp_path)))
        wait_for(
            "the new context window to be served", lambda: served_context_length(served.url) == UPGRADED_MAX_MODEL_LEN, UPGRADE_TIMEOUT_S,
            lambda: describe(kube, served.namespace, cluster_dir),
        )
        wait_for(
            "the old engine to be stopped and one new engine to run",
            lambda: (now := engine_pids(cluster_dir, pod)) and len(now) == 1 and not now & before, RECOVERY_TIMEOUT_S,
            lambda: describe(kube, served.namespace, cluster_dir),
        )
        rolled = time.monotonic()
        load.wait_served(load.served() + 4)
    figures["kuberay-llm: helm upgrade of serveConfigV2 under load"] = rolled - started
    load.assert_nothing_failed_across(started, rolled)
    # In place: the same RayCluster serves (no new cluster was needed for a Serve config change).
    (after,) = kube.custom.list_namespaced_custom_object(RAY_GROUP, RAY_VERSION_API, served.namespace, "rayclusters")["items"]
    assert after["metadata"]["uid"] == cluster["metadata"]["uid"]


def test_a_lost_engine_behind_a_bounded_queue_is_answered_200_or_503_and_the_error_ratio_alert_fires_and_resolves(
    kube: Kube, cluster_dir: Path, served: Served, prometheus: live.Prometheus, figures: dict[str, float]
):
    """While Serve replaces a killed engine, the requests its bounded queue cannot hold are
    refused with a 503 and an OpenAI error (never a 500, never a refused connection: the
    ingress replica keeps the worker's Serve proxy, and so the Service's endpoint, up);
    the requests the engine held are resent to the replacement. The 503s' share of the
    answers fires LLMHighErrorRatio, which resolves once the traffic served again has
    diluted them in its rate window."""
    with BackToBack(served.url, MODEL, OUTAGE_CLIENTS, max_tokens=1) as load:
        wait_for("chats served before the kill", lambda: load.served() >= OUTAGE_CLIENTS, 120)
        killed_at = time.monotonic()
        sigkill(cluster_dir, worker_pod(kube, served.namespace), "ray-worker", "EngineCore")
        alerts.wait(prometheus, ["LLMHighErrorRatio"], served.namespace, firing=True)
        fired_after = time.monotonic() - killed_at
        served_when_fired = load.served()
        wait_for(
            "chats served again after the kill", lambda: load.served() > served_when_fired + OUTAGE_CLIENTS, RECOVERY_TIMEOUT_S,
            lambda: describe(kube, served.namespace, cluster_dir),
        )
        recovered_at = time.monotonic()
        alerts.wait(prometheus, ["LLMHighErrorRatio"], served.namespace, firing=False, timeout_s=alerts.window_clear_s(RAY_SCRAPE))
        resolved_after = time.monotonic() - recovered_at
    figures["kuberay-llm: engine SIGKILL behind a full queue to LLMHighErrorRatio firing"] = fired_after
    figures["kuberay-llm: LLMHighErrorRatio resolved after serving again, under the same load"] = resolved_after
    answers = load.answers
    assert set(answers.statuses) <= {200, 503} and answers.statuses[503], (answers.statuses, answers.bodies, answers.unanswered)
    assert answers.bodies[503]["error"]["message"], answers.bodies[503]
    # Serve notices the lost replica (at worst its health check); the 503s' error series
    # is created by the first of them, so its first scrape is only the base of its rate.
    assert fired_after <= alerts.deadline_s("highErrorRatio", RAY_SCRAPE, HEALTH_CHECK_PERIOD_S + alerts.duration_s(RAY_SCRAPE)), fired_after


@pytest.mark.parametrize("dashboard", ["cost", "llm-engines", "ray-serve"])
def test_a_picture_of_each_dashboard_shows_the_run(dashboard: str, served: Served, prometheus: live.Prometheus):
    """Each panel drawn from the live data of the run so far (pictures.py); every panel that can have data here has some.
    The gpu dashboard is left out: every panel of it needs a GPU."""
    path, drawn = pictures.plot(prometheus, dashboard, "kuberay-llm", served.namespace, EMPTY_PANELS)
    assert [p.title for p in dashboards.checked(dashboard, EMPTY_PANELS) if not drawn[p.title]] == [], path


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
