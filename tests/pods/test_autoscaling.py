"""vllm-standalone's KEDA autoscaling on the real node, on a real value from the live Prometheus.

A release of the CPU preset of its own, with the chart's ScaledObject on (as
tests/pods/values/vllm-standalone-keda.yaml sets it): the real KEDA operator reads the
chart's trigger query (queued requests of the model, derived from the observability
chart's `autoscalingQueries`) from the tier's Prometheus, the HPA it creates reads
that value through the external metrics API, and the kube-controller-manager scales
the engine Deployment out under a queue and back in once it drains.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest
from kubernetes import client
from kubernetes.utils import parse_quantity

from serve_app.tiny_model import ensure_model
from tests.cluster.kube import RESTRICTED, Kube, Namespaces, wait_deployment_available, wait_for
from tests.cluster.presets import EXISTING_CLAIM
from tests.cluster.releases import RELEASE, Helm, values_args

from . import keda
from . import prometheus as live
from .charts import CHARTS, OVERLAYS, PRESETS, Served, create_model_claim, describe_release, service_url, staged_model
from .load import BackToBack

CHART = CHARTS / "vllm-standalone"
VALUES = values_args(
    PRESETS / "vllm-standalone" / "cpu-tiny.yaml", EXISTING_CLAIM, OVERLAYS / "vllm-standalone.yaml", OVERLAYS / "vllm-standalone-keda.yaml",
)
MODEL = "tiny-llama"
DEPLOYMENT = f"{RELEASE}-vllm-standalone-{MODEL}"
HPA = f"keda-hpa-{DEPLOYMENT}"
READY_TIMEOUT_S = 300
# The HPA's sync (15 s), KEDA's polling and the second engine's start on 2 CPUs; and
# the scale-down window (tests/pods/values/vllm-standalone-keda.yaml, 120 s). A full
# run took 408 s to two engines available (118 s for this module alone).
SCALE_TIMEOUT_S = 600
# The trigger's target: queued requests per engine (the chart's default).
THRESHOLD = 5
# Clients sending back to back: four times the preset's maxNumSeqs (8), so that about 24
# requests wait in vLLM's queue whenever KEDA or the HPA looks.
CLIENTS, TOKENS = 32, 128


@pytest.fixture(scope="module")
def served(kube: Kube, namespaces: Namespaces, helm: Helm, prometheus: live.Prometheus, keda_running: None) -> Iterator[Served]:
    """The preset installed with its ScaledObject querying the tier's Prometheus, one engine serving."""
    namespace = namespaces.create("vllm-keda", RESTRICTED)
    with staged_model(ensure_model(), MODEL) as model_dir:
        create_model_claim(kube, namespace, model_dir)
        helm("install", RELEASE, CHART, "--namespace", namespace, *VALUES,
             "--set", f"defaults.autoscaling.keda.serverAddress={prometheus.url}")
        try:
            wait_deployment_available(kube, namespace, DEPLOYMENT, READY_TIMEOUT_S)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{describe_release(kube, namespace)}") from None
        wait_for("KEDA to make the ScaledObject's HPA", lambda: hpa_exists(kube, namespace), 120, lambda: describe_release(kube, namespace))
        # Prometheus finds a new namespace's engine only once the operator's config reaches it.
        wait_for("Prometheus to scrape the engine's queue", lambda: prometheus.query(trigger_query(kube, namespace)), live.TARGET_TIMEOUT_S,
                 lambda: live.describe_targets(prometheus))
        yield Served(namespace, service_url(kube, namespace, DEPLOYMENT), True)
        helm("uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", "120s", check=False)
        namespaces.delete(namespace)


def scaled_object(kube: Kube, namespace: str) -> dict[str, Any]:
    return kube.custom.get_namespaced_custom_object("keda.sh", "v1alpha1", namespace, "scaledobjects", DEPLOYMENT)


def trigger_query(kube: Kube, namespace: str) -> str:
    """The PromQL query of the ScaledObject's (one) trigger, as the chart rendered it."""
    (trigger,) = scaled_object(kube, namespace)["spec"]["triggers"]
    return trigger["metadata"]["query"]


def conditions(obj: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}


def hpa(kube: Kube, namespace: str) -> client.V2HorizontalPodAutoscaler:
    return client.AutoscalingV2Api(kube.api).read_namespaced_horizontal_pod_autoscaler(HPA, namespace)


def hpa_exists(kube: Kube, namespace: str) -> bool:
    return bool(client.AutoscalingV2Api(kube.api).list_namespaced_horizontal_pod_autoscaler(namespace, field_selector=f"metadata.name={HPA}").items)


def external_metric_name(kube: Kube, namespace: str) -> str:
    """The name KEDA gave the trigger's metric in the HPA it made (s<trigger index>-prometheus)."""
    (metric,) = hpa(kube, namespace).spec.metrics
    return metric.external.metric.name


def current_value(autoscaler: client.V2HorizontalPodAutoscaler) -> float | None:
    """The external metric's current average value in one read of the HPA, None before the HPA read one.

    The HPA writes this value and the replica count it decided on in one status update,
    so both must come from the same read of the object."""
    (spec,) = autoscaler.spec.metrics
    for metric in autoscaler.status.current_metrics or []:
        if metric.type == "External" and metric.external.metric.name == spec.external.metric.name:
            return float(parse_quantity(metric.external.current.average_value))
    return None


def hpa_current_value(kube: Kube, namespace: str) -> float | None:
    return current_value(hpa(kube, namespace))


def describe(kube: Kube, namespace: str) -> str:
    status = hpa(kube, namespace).status
    return f"ScaledObject: {scaled_object(kube, namespace).get('status')}\nHPA status: {status}\n{describe_release(kube, namespace)}"


def test_the_scaled_object_is_ready_and_active_only_under_load(kube: Kube, served: Served):
    """KEDA checked the trigger against the live Prometheus: Ready, and not Active with nothing queued."""
    wait_for("the ScaledObject to be Ready", lambda: conditions(scaled_object(kube, served.namespace)).get("Ready") == "True", 120,
             lambda: describe(kube, served.namespace))
    assert conditions(scaled_object(kube, served.namespace)).get("Active") == "False"


def test_the_external_metric_is_the_queue_prometheus_reports(kube: Kube, served: Served, prometheus: live.Prometheus):
    """The value the external metrics API serves for the trigger is the chart's query evaluated by Prometheus."""
    (result,) = prometheus.query(trigger_query(kube, served.namespace))
    (item,) = keda.external_metric(kube, served.namespace, external_metric_name(kube, served.namespace), DEPLOYMENT)
    assert float(parse_quantity(item["value"])) == float(result["value"][1]) == 0


def test_the_hpa_reads_the_value_through_the_external_metrics_api(kube: Kube, served: Served):
    wait_for("the HPA to report the trigger's value", lambda: hpa_current_value(kube, served.namespace) is not None, 120,
             lambda: describe(kube, served.namespace))
    assert hpa_current_value(kube, served.namespace) == 0


def test_queued_requests_scale_the_engines_out_and_they_scale_back_in(kube: Kube, served: Served, figures: dict[str, float]):
    """Clients sending back to back, four times what the engine runs at once, keep a queue in
    vLLM: the queue per engine passes the trigger's target, the HPA adds the second engine (the
    overlay's maxReplicaCount) and it becomes available, every request answered; once the
    clients stop, the HPA returns to one engine after the overlay's scale-down window (120 s)."""
    seen: list[float] = []

    def wants_two() -> bool:
        autoscaler = hpa(kube, served.namespace)
        seen.append(current_value(autoscaler) or 0)
        return autoscaler.status.desired_replicas == 2

    def two_available() -> bool:
        return (kube.apps.read_namespaced_deployment(DEPLOYMENT, served.namespace).status.available_replicas or 0) == 2

    with BackToBack(served.url, MODEL, CLIENTS, TOKENS) as load:
        started = time.monotonic()
        wait_for("the HPA to want a second engine", wants_two, SCALE_TIMEOUT_S, lambda: describe(kube, served.namespace))
        figures["vllm-standalone + KEDA: queue building to the HPA scaling out"] = time.monotonic() - started
        wait_for("two engines available", two_available, SCALE_TIMEOUT_S, lambda: describe(kube, served.namespace))
        figures["vllm-standalone + KEDA: queue building to two engines available"] = time.monotonic() - started
    drained = time.monotonic()
    # The HPA scaled on a queue above the trigger's target per engine, and nothing failed.
    assert max(seen) > THRESHOLD, seen
    assert set(load.answers.statuses) == {200}, load.answers.statuses
    wait_for("one engine again", lambda: kube.apps.read_namespaced_deployment(DEPLOYMENT, served.namespace).status.replicas == 1,
             SCALE_TIMEOUT_S, lambda: describe(kube, served.namespace))
    figures["vllm-standalone + KEDA: clients stopped to one engine again"] = time.monotonic() - drained
