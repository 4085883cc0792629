"""vllm-standalone's CPU preset on the real node: `helm install` ends in a vLLM pod that serves.

The Deployment runs `vllm serve` from the CPU engine image ci/images built (the
`vllm-cpu` stage of images/serve-app/Dockerfile.cpu), reading the tiny model from an
existing read-only claim, as the preset's header tells users of restricted namespaces
to do. Its startup and readiness probes decide when the Service gets the pod.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
import yaml

from serve_app.models import ModelLock, lock_directory
from serve_app.tiny_model import ensure_model
from tests.cluster.kube import RESTRICTED, Kube, Namespaces, deployment_available, wait_deployment_available, wait_for
from tests.cluster.presets import EXISTING_CLAIM
from tests.cluster.releases import RELEASE, Helm, manifest_objects, values_args, wait_release_gone

from . import alerts, dashboards, pictures
from . import prometheus as live
from .charts import (
    CHARTS, OVERLAYS, PRESETS, Served, assert_streams_a_chat, chat_answers, create_model_claim, describe_release,
    first_ready_endpoint, openai_client, service_url, staged_model, streamed_chat,
)
from .load import Answers, StreamingLoad, chat_status, served_light, unknown_model_then_served, wave
from .real_node import NODE_NAME, sigkill

CHART = CHARTS / "vllm-standalone"
VALUES = values_args(PRESETS / "vllm-standalone" / "cpu-tiny.yaml", EXISTING_CLAIM, OVERLAYS / "vllm-standalone.yaml")
MODEL = "tiny-llama"
DEPLOYMENT = f"{RELEASE}-vllm-standalone-{MODEL}"
READY_TIMEOUT_S = 300
RECOVERY_TIMEOUT_S = 300
# Where the preset's pod reads the model (the claim's root is mounted at /models).
MODEL_PATH = "/models/tiny-llama"
# The file a forged lock gives other bytes.
WEIGHTS = "model.safetensors"
# The model setting `helm upgrade` changes under load: the preset's context window, 512.
UPGRADED_MAX_MODEL_LEN = 384


@pytest.fixture(scope="module")
def served(kube: Kube, namespaces: Namespaces, helm: Helm, figures: dict[str, float]) -> Iterator[Served]:
    """The preset installed, its Deployment available and its Service answering."""
    namespace = namespaces.create("vllm-standalone", RESTRICTED)
    with staged_model(ensure_model(), MODEL) as model_dir:
        create_model_claim(kube, namespace, model_dir)
        started = time.monotonic()
        helm("install", RELEASE, CHART, "--namespace", namespace, *VALUES)
        endpoint = first_ready_endpoint(kube, namespace, DEPLOYMENT, READY_TIMEOUT_S)
        answered = chat_answers(endpoint, MODEL)
        try:
            wait_deployment_available(kube, namespace, DEPLOYMENT, READY_TIMEOUT_S)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{describe_release(kube, namespace)}") from None
        figures["vllm-standalone: helm install to Deployment available"] = time.monotonic() - started
        yield Served(namespace, service_url(kube, namespace, DEPLOYMENT), answered)
        helm("uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", "120s", check=False)
        namespaces.delete(namespace)


def engine_pod(kube: Kube, namespace: str):
    (pod,) = kube.core.list_namespaced_pod(namespace, label_selector=f"llmstack.io/model={MODEL}").items
    return pod


def engine_status(pod):
    (status,) = [s for s in pod.status.container_statuses if s.name == "vllm"]
    return status


def test_the_engine_pod_runs_on_the_real_node(kube: Kube, served: Served):
    pod = engine_pod(kube, served.namespace)
    assert pod.spec.node_name == NODE_NAME
    engine = engine_status(pod)
    assert engine.ready and engine.state.running and engine.restart_count == 0, engine


def test_the_pod_turns_ready_only_once_the_model_answers(served: Served):
    """The startup and readiness probes hold the pod out of the Service until vLLM serves: the first ready endpoint answers a chat at once."""
    assert served.answered_when_first_ready


def test_the_service_lists_the_served_model_name(served: Served):
    assert [m.id for m in openai_client(served.url).models.list().data] == [MODEL]


def test_a_streamed_chat_completion_arrives_in_chunks(served: Served):
    assert_streams_a_chat(served.url, MODEL)


def test_helm_test_passes_against_the_running_release(helm: Helm, served: Served):
    result = helm("test", RELEASE, "--namespace", served.namespace, "--timeout", "300s", "--logs", timeout=360)
    assert "OK: 1 model(s) answered" in result.stdout, result.stdout


def test_prometheus_scrapes_the_engine_through_each_monitor_that_selects_it(kube: Kube, served: Served, prometheus: live.Prometheus):
    """The chart's ServiceMonitor and the observability chart's PodMonitor, through the chart's NetworkPolicy."""
    hosts = {engine_pod(kube, served.namespace).status.pod_ip}
    live.assert_monitors_scrape(kube, prometheus, served.namespace, hosts, {("ServiceMonitor", served.namespace), ("PodMonitor", live.NAMESPACE)})


def test_every_recording_rule_for_vllm_records_the_release_under_load(served: Served, prometheus: live.Prometheus):
    live.assert_rules_record(prometheus, "llmstack-vllm.rules", served.namespace, lambda: streamed_chat(served.url, MODEL, live.SHARED_PROMPT))


@pytest.mark.parametrize("dashboard", ["cost", "gpu", "llm-engines"])
def test_every_dashboard_panel_shows_data_for_the_release(dashboard: str, served: Served, prometheus: live.Prometheus):
    """The ray-serve dashboard is Ray's alone; every other dashboard covers vLLM's own server."""
    streamed_chat(served.url, MODEL, live.SHARED_PROMPT)
    dashboards.assert_shows_data(prometheus, dashboard, served.namespace, {})


def test_the_dashboards_offer_the_release_and_its_model(served: Served, prometheus: live.Prometheus):
    for name in ("llm-engines", "cost"):
        _, offered = dashboards.variables(prometheus, name, served.namespace)
        assert served.namespace in offered["namespace"] and MODEL in offered["model"], (name, offered)


def test_bad_requests_are_answered_4xx_and_never_count_as_errors(served: Served, prometheus: live.Prometheus):
    """A request for a model the release does not serve is the client's mistake: vLLM's server
    counts the 404s as 4xx, and the 5xx ratio LLMHighErrorRatio reads stays 0."""
    client_errors = f'http_requests_total{{namespace="{served.namespace}", handler=~"/v1/.+", status="4xx"}}'
    alerts.assert_client_errors_are_not_errors(prometheus, served.namespace, client_errors, lambda: unknown_model_then_served(served.url, MODEL))


# A wave: clients sending at once, four times the preset's maxNumSeqs (8), each holding
# its slot for WAVE_TOKENS: three quarters of every wave wait in vLLM's queue.
WAVE_CLIENTS = 32
WAVE_TOKENS = 128
# After the overload: one-token chats, no more at once than the engine runs, sent on
# every poll until the p95 queue time falls under the threshold.
LIGHT_REQUESTS, LIGHT_CONCURRENCY = 40, 8


def test_an_overload_queues_requests_fires_requests_waiting_too_long_and_it_resolves(
    served: Served, prometheus: live.Prometheus, figures: dict[str, float]
):
    """vLLM queues what it cannot run (every request is answered 200): the p95 queue time passes
    LLMRequestsWaitingTooLong's threshold and the alert fires; once requests are scheduled at
    once again the quantile falls back under it and the alert resolves."""
    alerts.wait(prometheus, ["LLMRequestsWaitingTooLong"], served.namespace, firing=False)
    answers = Answers()
    started = time.monotonic()
    alerts.wait(prometheus, ["LLMRequestsWaitingTooLong"], served.namespace, firing=True,
                meanwhile=lambda: wave(served.url, MODEL, WAVE_CLIENTS, WAVE_TOKENS, answers))
    fired_after = time.monotonic() - started
    assert set(answers.statuses) == {200}, answers.statuses
    ended = time.monotonic()
    alerts.wait(prometheus, ["LLMRequestsWaitingTooLong"], served.namespace, firing=False,
                meanwhile=lambda: served_light(served.url, MODEL, LIGHT_REQUESTS, LIGHT_CONCURRENCY), timeout_s=alerts.CLEAR_TIMEOUT_S)
    figures["vllm-standalone: first overload wave to LLMRequestsWaitingTooLong firing"] = fired_after
    figures["vllm-standalone: overload over to LLMRequestsWaitingTooLong resolved"] = time.monotonic() - ended


def kill_engine_core(kube: Kube, cluster_dir, served: Served) -> Callable[[], None]:
    """SIGKILL vLLM's engine process (not the API server); returns a wait for the container's
    restart and the Service serving a chat again."""
    pod = engine_pod(kube, served.namespace)
    restarts = engine_status(pod).restart_count
    sigkill(cluster_dir, pod, "vllm", "EngineCore")

    def recovered() -> None:
        wait_for(
            "the engine container to restart", lambda: engine_status(engine_pod(kube, served.namespace)).restart_count > restarts,
            RECOVERY_TIMEOUT_S, lambda: describe_release(kube, served.namespace),
        )
        wait_for("the Service to answer a chat again", lambda: chat_answers(served.url, MODEL), RECOVERY_TIMEOUT_S, lambda: describe_release(kube, served.namespace))

    return recovered


def test_a_killed_engine_core_is_restarted_and_serves_again(kube: Kube, cluster_dir, served: Served, figures: dict[str, float]):
    """The API server exits with its engine, the kubelet restarts the container, the Service serves again."""
    killed_at = time.monotonic()
    kill_engine_core(kube, cluster_dir, served)()
    figures["vllm-standalone: engine SIGKILL to serving again"] = time.monotonic() - killed_at


def test_an_engine_outage_fires_engines_down_and_it_resolves_on_recovery(
    kube: Kube, cluster_dir, served: Served, prometheus: live.Prometheus, figures: dict[str, float]
):
    """LLMEnginesDown (its `for` shortened by the tier's overlay) fires within `for`, one scrape and two
    evaluations of the engine going down, and resolves once the restarted engine is scraped again."""
    alerts.wait(prometheus, ["LLMEnginesDown"], served.namespace, firing=False)  # an earlier outage's, resolved
    killed_at = time.monotonic()
    recovered = kill_engine_core(kube, cluster_dir, served)
    alerts.wait(prometheus, ["LLMEnginesDown"], served.namespace, firing=True)
    fired_after = time.monotonic() - killed_at
    recovered()
    recovered_at = time.monotonic()
    alerts.wait(prometheus, ["LLMEnginesDown"], served.namespace, firing=False)
    figures["vllm-standalone: engine SIGKILL to LLMEnginesDown firing"] = fired_after
    figures["vllm-standalone: engine serving again to LLMEnginesDown resolved"] = time.monotonic() - recovered_at
    assert fired_after <= alerts.deadline_s("enginesDown"), fired_after


def served_max_model_len(url: str) -> int:
    (card,) = httpx.get(f"{url}/v1/models", timeout=10).json()["data"]
    return card["max_model_len"]


def test_helm_upgrade_of_a_model_setting_under_streaming_load_fails_no_request(
    kube: Kube, helm: Helm, served: Served, figures: dict[str, float]
):
    """A changed context window rolls the Deployment (a surge pod, then the old one drains through its preStop) while two clients stream."""
    (old_pod,) = [p.metadata.name for p in kube.core.list_namespaced_pod(served.namespace, label_selector=f"llmstack.io/model={MODEL}").items]
    with StreamingLoad(served.url, MODEL) as load:
        load.wait_served(4)
        started = time.monotonic()
        helm("upgrade", RELEASE, CHART, "--namespace", served.namespace, *VALUES, "--set", f"defaults.engine.maxModelLen={UPGRADED_MAX_MODEL_LEN}")
        wait_for(
            "the rollout to finish", lambda: deployment_available(kube, served.namespace, DEPLOYMENT), READY_TIMEOUT_S,
            lambda: describe_release(kube, served.namespace),
        )
        wait_for(
            f"the old pod {old_pod} to be gone", lambda: old_pod not in [p.metadata.name for p in kube.core.list_namespaced_pod(served.namespace).items],
            RECOVERY_TIMEOUT_S, lambda: describe_release(kube, served.namespace),
        )
        rolled = time.monotonic()
        load.wait_served(load.served() + 4)
    figures["vllm-standalone: helm upgrade rollout under load"] = rolled - started
    load.assert_nothing_failed_across(started, rolled)
    assert served_max_model_len(served.url) == UPGRADED_MAX_MODEL_LEN


def verify_failure(kube: Kube, namespace: str) -> str | None:
    """The message of a model-verify initContainer that failed, from the pod's status (None until one has)."""
    for pod in kube.core.list_namespaced_pod(namespace, label_selector=f"llmstack.io/model={MODEL}").items:
        for status in pod.status.init_container_statuses or []:
            terminated = status.name == "model-verify" and (status.state.terminated or status.last_state.terminated)
            if terminated and terminated.exit_code != 0:
                return terminated.message
    return None


def test_a_model_lock_admits_the_locked_files_and_stops_a_tampered_one_before_the_engine(
    kube: Kube, helm: Helm, served: Served, tmp_path: Path, figures: dict[str, float]
):
    """A lock that says one file has other bytes than the volume's stops the new pod in its
    model-verify initContainer, naming the file and both digests in the pod's status,
    while the old pod serves on; the model's true lock (written by serve_app.models)
    rolls out and serves."""
    lock = lock_directory(Path(ensure_model()))
    true_digest = next(f.sha256 for f in lock.files if f.path == WEIGHTS)
    forged = lock.model_copy(update={"files": [f.model_copy(update={"sha256": "0" * 64}) if f.path == WEIGHTS else f for f in lock.files]})

    def upgrade(with_lock: ModelLock) -> None:
        values = tmp_path / "lock.yaml"
        values.write_text(yaml.safe_dump({"models": [{"name": MODEL, "model": MODEL_PATH, "lock": with_lock.model_dump()}]}))
        helm("upgrade", RELEASE, CHART, "--namespace", served.namespace, *VALUES, "--values", str(values))

    upgrade(forged)
    message = wait_for("the forged lock's pod to fail its verification", lambda: verify_failure(kube, served.namespace), READY_TIMEOUT_S,
                       lambda: describe_release(kube, served.namespace))
    assert f"model lock: {MODEL_PATH}/{WEIGHTS}: sha256 is {true_digest}, the lock says {'0' * 64}" in message, message
    assert chat_status(served.url, MODEL, 1)[0] == 200

    started = time.monotonic()
    upgrade(lock)
    wait_for(
        "the locked model to roll out", lambda: deployment_available(kube, served.namespace, DEPLOYMENT), READY_TIMEOUT_S,
        lambda: describe_release(kube, served.namespace),
    )
    figures["vllm-standalone: helm upgrade adding a model lock to Deployment available"] = time.monotonic() - started
    assert chat_status(served.url, MODEL, 1)[0] == 200


@pytest.mark.parametrize("dashboard", ["cost", "llm-engines"])
def test_a_picture_of_each_dashboard_shows_the_run(dashboard: str, served: Served, prometheus: live.Prometheus):
    """Each panel drawn from the live data of the run so far (pictures.py); every panel that can have data here has some.
    The gpu dashboard is left out: every panel of it needs a GPU."""
    path, drawn = pictures.plot(prometheus, dashboard, "vllm-standalone", served.namespace, {})
    assert [p.title for p in dashboards.checked(dashboard, {}) if not drawn[p.title]] == [], path


def test_uninstall_leaves_nothing_the_chart_created(kube: Kube, helm: Helm, served: Served):
    installed = manifest_objects(helm, served.namespace)
    helm("uninstall", RELEASE, "--namespace", served.namespace, "--wait", "--timeout", "120s")
    wait_release_gone(kube, served.namespace, installed)
    # The claim the user made stays; nothing else is left in the namespace.
    assert [c.metadata.name for c in kube.core.list_namespaced_persistent_volume_claim(served.namespace).items] == ["tiny-models"]
    assert kube.core.list_namespaced_pod(served.namespace).items == []
