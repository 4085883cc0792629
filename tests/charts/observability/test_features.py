"""One behaviour per value: what each setting of the observability chart changes in
the rendered objects."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.support import helm

from . import promql

CHART = "observability"
CHART_VERSION = yaml.safe_load((helm.CHARTS / CHART / "Chart.yaml").read_text())["version"]
RELEASE_NAMESPACE = "llm"


def render(**set_json: Any) -> helm.Rendered:
    return helm.template(CHART, set_json=set_json)


def monitors(rendered: helm.Rendered) -> list[dict[str, Any]]:
    return rendered.of_kind("PodMonitor") + rendered.of_kind("ServiceMonitor")


def rule(rendered: helm.Rendered, name: str) -> dict[str, Any]:
    found = [r for g in promql.prometheus_rules(rendered) for r in g["rules"] if name in (r.get("alert"), r.get("record"))]
    assert found, f"no rule {name}"
    return found[0]


def alert_names(rendered: helm.Rendered) -> set[str]:
    return {r["alert"] for g in promql.prometheus_rules(rendered) for r in g["rules"] if "alert" in r}


def endpoint(monitor: dict[str, Any]) -> dict[str, Any]:
    spec = monitor["spec"]
    return (spec.get("podMetricsEndpoints") or spec["endpoints"])[0]


# ---------------------------------------------------------------- defaults

def test_defaults_render_the_vllm_and_ray_pod_monitors_only() -> None:
    rendered = helm.template(CHART)
    assert sorted(m["metadata"]["name"] for m in rendered.of_kind("PodMonitor")) == ["test-observability-ray", "test-observability-vllm"]
    assert not rendered.of_kind("ServiceMonitor"), "the DCGM exporter is scraped only on request"


def test_vllm_pod_monitor_selects_vllm_standalone_engines_on_port_http() -> None:
    monitor = helm.template(CHART).one("PodMonitor", "test-observability-vllm")
    assert monitor["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "vllm-standalone", "app.kubernetes.io/component": "engine"}}
    assert endpoint(monitor)["port"] == "http" and endpoint(monitor)["path"] == "/metrics"
    assert monitor["spec"]["podTargetLabels"] == ["llmstack.io/model"]


def test_ray_pod_monitor_selects_kuberay_llm_pods_on_port_metrics() -> None:
    monitor = helm.template(CHART).one("PodMonitor", "test-observability-ray")
    assert monitor["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "kuberay-llm"}}
    assert endpoint(monitor)["port"] == "metrics"
    assert "ray.io/node-type" in monitor["spec"]["podTargetLabels"]


def test_monitors_look_in_the_release_namespace_by_default() -> None:
    for monitor in monitors(render(**{"scrape.dcgm.namespaceSelector.matchNames": None, "scrape.dcgm.enabled": True})):
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": [RELEASE_NAMESPACE]}, monitor["metadata"]["name"]


@pytest.mark.parametrize("selector", [{"any": True}, {"matchNames": ["a", "b"]}])
def test_namespace_selector_is_configurable(selector: dict[str, Any]) -> None:
    monitor = render(**{"scrape.vllm.namespaceSelector": selector}).one("PodMonitor", "test-observability-vllm")
    assert monitor["spec"]["namespaceSelector"] == selector


def test_selectors_are_configurable() -> None:
    selector = {"matchLabels": {"app": "my-vllm"}}
    # null removes a default key (Helm merges maps)
    labels = {"app": "my-vllm", "app.kubernetes.io/name": None, "app.kubernetes.io/component": None}
    monitor = render(**{"scrape.vllm.selector.matchLabels": labels}).one("PodMonitor", "test-observability-vllm")
    assert monitor["spec"]["selector"] == selector


def test_dcgm_service_monitor_keeps_the_exporters_pod_labels() -> None:
    monitor = render(**{"scrape.dcgm.enabled": True}).one("ServiceMonitor")
    assert monitor["spec"]["selector"] == {"matchLabels": {"app": "nvidia-dcgm-exporter"}}
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["gpu-operator"]}
    assert endpoint(monitor)["port"] == "gpu-metrics"
    assert endpoint(monitor)["honorLabels"] is True


def test_vllm_service_label_comes_from_the_deployment() -> None:
    relabelings = endpoint(helm.template(CHART).one("PodMonitor", "test-observability-vllm"))["relabelings"]
    assert relabelings == [{
        "action": "replace", "regex": "ReplicaSet;(.+)-[a-z0-9]+", "replacement": "$1", "targetLabel": "service",
        "sourceLabels": ["__meta_kubernetes_pod_controller_kind", "__meta_kubernetes_pod_controller_name"],
    }]
    off = render(**{"scrape.vllm.serviceLabel": False}).one("PodMonitor", "test-observability-vllm")
    assert "relabelings" not in endpoint(off)


def test_user_relabelings_follow_the_chart_ones() -> None:
    user = {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}
    relabelings = endpoint(render(**{"scrape.vllm.relabelings": [user]}).one("PodMonitor", "test-observability-vllm"))["relabelings"]
    assert relabelings[0]["targetLabel"] == "service" and relabelings[1] == user


@pytest.mark.parametrize("component", ["vllm", "ray"])
def test_each_scrape_can_be_turned_off(component: str) -> None:
    names = [m["metadata"]["name"] for m in monitors(render(**{f"scrape.{component}.enabled": False}))]
    assert f"test-observability-{component}" not in names and names


def test_scrape_interval_and_timeout() -> None:
    ep = endpoint(render(**{"scrape.ray.interval": "30s", "scrape.ray.scrapeTimeout": "20s"}).one("PodMonitor", "test-observability-ray"))
    assert (ep["interval"], ep["scrapeTimeout"]) == ("30s", "20s")


# ---------------------------------------------------------------- labels

def test_kube_prometheus_stack_release_label_is_off_by_default() -> None:
    rendered = helm.template(CHART)
    for doc in monitors(rendered) + rendered.of_kind("PrometheusRule"):
        assert "release" not in doc["metadata"]["labels"]


def test_kube_prometheus_stack_release_label_on_monitors_and_rules() -> None:
    rendered = render(kubePrometheusStack={"enabled": True, "release": "monitoring"})
    docs = monitors(rendered) + rendered.of_kind("PrometheusRule")
    assert len(docs) == 4
    for doc in docs:
        assert doc["metadata"]["labels"]["release"] == "monitoring", doc["metadata"]["name"]
    for doc in rendered.of_kind("ConfigMap"):
        assert "release" not in doc["metadata"]["labels"]


def test_extra_labels_on_monitors_and_rules_only() -> None:
    rendered = render(extraLabels={"prometheus": "main"})
    for doc in monitors(rendered) + rendered.of_kind("PrometheusRule"):
        assert doc["metadata"]["labels"]["prometheus"] == "main"
    for doc in rendered.of_kind("ConfigMap"):
        assert "prometheus" not in doc["metadata"]["labels"]


def test_common_labels_everywhere_and_chart_labels_win() -> None:
    rendered = render(commonLabels={"team": "inference", "app.kubernetes.io/name": "other"})
    for doc in rendered.docs:
        labels = doc["metadata"]["labels"]
        assert labels["team"] == "inference"
        assert labels["app.kubernetes.io/name"] == "observability"
        assert labels["app.kubernetes.io/instance"] == "test"
        assert labels["helm.sh/chart"] == f"observability-{CHART_VERSION}"


def test_fullname_override_names_every_object() -> None:
    for doc in render(fullnameOverride="obs").docs:
        assert doc["metadata"]["name"].startswith("obs-")


# ---------------------------------------------------------------- recording rules

def test_recording_rules_cover_both_sources_with_one_name_set() -> None:
    groups = {g["name"]: g for g in promql.prometheus_rules(helm.template(CHART))}
    vllm = {r["record"] for r in groups["llmstack-vllm.rules"]["rules"]}
    ray = {r["record"] for r in groups["llmstack-ray.rules"]["rules"]}
    assert vllm == ray
    for quantity in ("time_to_first_token_seconds", "inter_token_latency_seconds", "e2e_request_latency_seconds"):
        assert f"llmstack:{quantity}:quantile" in vllm
    assert {"llmstack:generation_tokens:rate5m", "llmstack:requests:rate5m", "llmstack:http_request_errors:ratio_rate5m"} <= vllm


def test_recorded_series_carry_their_source() -> None:
    for group in promql.prometheus_rules(helm.template(CHART)):
        source = group["name"].removeprefix("llmstack-").removesuffix(".rules")
        if source not in ("vllm", "ray"):
            continue
        for r in group["rules"]:
            # either the rule sets the label or it reads only series of its own source
            assert r.get("labels", {}).get("source") == source or f'source="{source}"' in r["expr"], r["record"]


@pytest.mark.parametrize("q", ["0.5", "0.95", "0.99"])
def test_latency_quantiles_per_model(q: str) -> None:
    rules = [r for g in promql.prometheus_rules(helm.template(CHART)) for r in g["rules"] if r.get("record") == "llmstack:time_to_first_token_seconds:quantile" and r["labels"]["quantile"] == q]
    assert len(rules) == 2 and all(r["expr"].startswith(f"histogram_quantile({q},") for r in rules)


def test_sources_can_be_turned_off() -> None:
    names = {g["name"] for g in promql.prometheus_rules(render(**{"rules.sources.ray": False}))}
    assert "llmstack-ray.rules" not in names and "llmstack-vllm.rules" in names


def test_rule_interval() -> None:
    for group in promql.prometheus_rules(render(**{"rules.interval": "30s"})):
        assert group["interval"] == "30s"
    assert all("interval" not in g for g in promql.prometheus_rules(helm.template(CHART)))


def test_gpu_resource_of_the_cost_rule() -> None:
    assert 'resource="amd_com_gpu"' in rule(render(**{"rules.gpuResource": "amd_com_gpu"}), "llmstack:model_gpus:sum")["expr"]


def test_every_recorded_name_referenced_is_recorded() -> None:
    rendered = promql.render_everything()
    recorded = {r["record"] for g in promql.prometheus_rules(rendered) for r in g["rules"] if "record" in r}
    referenced = {n for e in promql.all_expressions(rendered) for n in promql.metric_names(e.promql) if promql.is_recorded(n)}
    assert referenced <= recorded, referenced - recorded


# ---------------------------------------------------------------- alerts

ALERT_KEYS = {
    "highTimeToFirstToken": "LLMHighTimeToFirstToken", "highInterTokenLatency": "LLMHighInterTokenLatency",
    "kvCacheNearFull": "LLMKVCacheNearFull", "requestsWaitingTooLong": "LLMRequestsWaitingTooLong",
    "preemptions": "LLMPreemptions", "highErrorRatio": "LLMHighErrorRatio", "enginesDown": "LLMEnginesDown",
    "serveNoHealthyReplicas": "RayServeNoHealthyReplicas", "serveReplicaUnhealthy": "RayServeReplicaUnhealthy",
    "serveDeploymentUnhealthy": "RayServeDeploymentUnhealthy", "gpuIdle": "GPUIdleWhileAllocated", "podRestarts": "LLMPodRestarting",
}
ALL_ALERTS = set(ALERT_KEYS.values())


def test_every_alert_is_rendered_by_default() -> None:
    assert alert_names(helm.template(CHART)) == ALL_ALERTS


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    for g in promql.prometheus_rules(helm.template(CHART)):
        for r in g["rules"]:
            if "alert" not in r:
                continue
            assert r["labels"]["severity"] in ("critical", "warning", "info"), r["alert"]
            assert set(r["annotations"]) == {"summary", "description", "runbook_url"}, r["alert"]
            assert r["annotations"]["runbook_url"].endswith("RUNBOOK.md#" + r["alert"].lower())


def test_runbook_has_a_section_per_alert() -> None:
    headings = {line[3:].strip() for line in (promql.CHART_DIR / "RUNBOOK.md").read_text().splitlines() if line.startswith("## ")}
    assert ALL_ALERTS <= headings


@pytest.mark.parametrize("key,name", sorted(ALERT_KEYS.items()))
def test_each_alert_can_be_turned_off(key: str, name: str) -> None:
    assert alert_names(render(**{f"alerts.{key}.enabled": False})) == ALL_ALERTS - {name}


def test_the_engines_down_alert_reads_the_chart_own_engine_scrape_and_needs_it() -> None:
    """`up` of the vllm PodMonitor's targets, per model Deployment when the scrape labels it."""
    expr = rule(render(), "LLMEnginesDown")["expr"]
    assert expr == 'sum by (namespace, service) (up{job="llm/test-observability-vllm"}) == 0'
    assert "by (namespace) (" in rule(render(**{"scrape.vllm.serviceLabel": False}), "LLMEnginesDown")["expr"]
    assert alert_names(render(**{"scrape.vllm.enabled": False})) == ALL_ALERTS - {"LLMEnginesDown"}


@pytest.mark.parametrize("key,name", sorted(ALERT_KEYS.items()))
def test_severity_and_for_come_from_values(key: str, name: str) -> None:
    r = rule(render(**{f"alerts.{key}.severity": "info", f"alerts.{key}.for": "42m"}), name)
    assert r["labels"]["severity"] == "info" and r["for"] == "42m"


@pytest.mark.parametrize("key,name", sorted((k, v) for k, v in ALERT_KEYS.items() if "threshold" in yaml.safe_load((promql.CHART_DIR / "values.yaml").read_text())["alerts"][k]))
def test_threshold_comes_from_values(key: str, name: str) -> None:
    r = rule(render(**{f"alerts.{key}.threshold": 0.37 if key not in ("podRestarts",) else 7}), name)
    assert r["expr"].rstrip().endswith(("> 0.37", "< 0.37", "> 7")), r["expr"]


def test_alert_labels_are_added_and_severity_wins() -> None:
    r = rule(render(**{"alerts.labels": {"team": "inference", "severity": "none"}}), "LLMKVCacheNearFull")
    assert r["labels"] == {"team": "inference", "severity": "warning"}


def test_runbook_base_url() -> None:
    r = rule(render(**{"alerts.runbookBaseUrl": "https://runbooks.example.com/llm"}), "LLMPreemptions")
    assert r["annotations"]["runbook_url"] == "https://runbooks.example.com/llm#llmpreemptions"


def test_pod_restart_matchers_and_window() -> None:
    r = rule(render(**{"alerts.podRestarts.matchers": 'container="vllm"', "alerts.podRestarts.window": "1h"}), "LLMPodRestarting")
    assert 'kube_pod_container_status_restarts_total{container="vllm"}[1h]' in r["expr"]


def test_gpu_idle_matchers() -> None:
    r = rule(render(**{"alerts.gpuIdle.matchers": 'namespace="llm"'}), "GPUIdleWhileAllocated")
    assert 'DCGM_FI_DEV_GPU_UTIL{pod!="", namespace="llm"}' in r["expr"]


def test_alerts_off_renders_no_alert_rule() -> None:
    rendered = render(**{"alerts.enabled": False})
    assert [d["metadata"]["name"] for d in rendered.of_kind("PrometheusRule")] == ["test-observability-recording-rules"]


# ---------------------------------------------------------------- autoscaling

def configmap(rendered: helm.Rendered, suffix: str) -> dict[str, Any]:
    return rendered.one("ConfigMap", f"test-observability-{suffix}")


def test_autoscaling_queries_are_documented_in_a_configmap() -> None:
    data = configmap(helm.template(CHART), "autoscaling-queries")["data"]
    values = yaml.safe_load((promql.CHART_DIR / "values.yaml").read_text())["autoscalingQueries"]
    assert yaml.safe_load(data["queries.yaml"]) == values
    assert "README.md" in data and yaml.safe_load(data["targets.yaml"]) == []


def test_autoscaling_queries_aggregate_to_one_series() -> None:
    values = yaml.safe_load((promql.CHART_DIR / "values.yaml").read_text())["autoscalingQueries"]
    assert values
    for key, query in values.items():
        assert query.startswith("sum("), key
        assert "$namespace" in query and "$model" in query, key


def test_autoscaling_targets_fill_the_placeholders_and_render_vllm_standalone_values() -> None:
    data = configmap(render(**{"autoscaling.queries.targets": [{"namespace": "prod", "model": "Qwen/Qwen2.5-7B-Instruct"}]}), "autoscaling-queries")["data"]
    [target] = yaml.safe_load(data["targets.yaml"])
    assert target["queries"]["numRequestsWaiting"] == 'sum(vllm:num_requests_waiting{namespace="prod", model_name="Qwen/Qwen2.5-7B-Instruct"})'
    snippet = yaml.safe_load(data["vllm-standalone-prod-qwen-qwen2.5-7b-instruct.yaml"])
    assert snippet["autoscaling"]["keda"]["numRequestsWaiting"]["query"] == target["queries"]["numRequestsWaiting"]
    assert snippet["autoscaling"]["keda"]["kvCacheUsage"]["query"] == target["queries"]["kvCacheUsage"]


def test_vllm_standalone_keda_default_query_matches_ours() -> None:
    """vllm-standalone's built-in KEDA query is the same sum our values define (one definition in practice)."""
    helpers = (helm.CHARTS / "vllm-standalone" / "templates" / "_helpers.tpl").read_text()
    assert 'printf "sum(%s{namespace=%q, model_name=%q})"' in helpers
    values = yaml.safe_load((promql.CHART_DIR / "values.yaml").read_text())["autoscalingQueries"]
    assert values["numRequestsWaiting"] == 'sum(vllm:num_requests_waiting{namespace="$namespace", model_name="$model"})'


def test_prometheus_adapter_rules_are_derived_from_the_queries() -> None:
    config = yaml.safe_load(configmap(helm.template(CHART), "prometheus-adapter")["data"]["config.yaml"])
    by_metric = {r["name"]["as"]: r for r in config["rules"]}
    assert set(by_metric) == {"vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"}
    waiting = by_metric["vllm:num_requests_waiting"]
    assert waiting["metricsQuery"] == "sum by (<<.GroupBy>>) (vllm:num_requests_waiting{<<.LabelMatchers>>})"
    assert waiting["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    external = {r["name"]["as"]: r for r in config["externalRules"]}
    assert set(external) == set(by_metric)
    assert external["vllm:kv_cache_usage_perc"]["resources"]["overrides"] == {"namespace": {"resource": "namespace"}}


def test_prometheus_adapter_follows_a_changed_query() -> None:
    rendered = render(autoscalingQueries={"numRequestsWaiting": 'sum by (model_name) (vllm:num_requests_running{namespace="$namespace", model_name="$model"})'})
    config = yaml.safe_load(configmap(rendered, "prometheus-adapter")["data"]["config.yaml"])
    assert "sum by (<<.GroupBy>>) (vllm:num_requests_running{<<.LabelMatchers>>})" in [r["metricsQuery"] for r in config["rules"]]


def test_prometheus_adapter_metric_names_match_vllm_standalone_hpa_defaults() -> None:
    hpa = yaml.safe_load((helm.CHARTS / "vllm-standalone" / "values.yaml").read_text())["defaults"]["autoscaling"]["hpa"]
    config = yaml.safe_load(configmap(helm.template(CHART), "prometheus-adapter")["data"]["config.yaml"])
    exposed = {r["name"]["as"] for r in config["rules"]}
    assert {hpa["numRequestsWaiting"]["metricName"], hpa["kvCacheUsage"]["metricName"]} <= exposed


def test_prometheus_adapter_configmap_namespace() -> None:
    assert configmap(render(**{"autoscaling.prometheusAdapter.namespace": "monitoring"}), "prometheus-adapter")["metadata"]["namespace"] == "monitoring"


@pytest.mark.parametrize("key,suffix", [("queries", "autoscaling-queries"), ("prometheusAdapter", "prometheus-adapter")])
def test_autoscaling_configmaps_can_be_turned_off(key: str, suffix: str) -> None:
    names = [d["metadata"]["name"] for d in render(**{f"autoscaling.{key}.enabled": False}).of_kind("ConfigMap")]
    assert f"test-observability-{suffix}" not in names


# Everything the chart can render at once (dashboards and autoscaling objects included).
EVERYTHING = {"dashboards": {"enabled": True}, "scrape": {"dcgm": {"enabled": True}}}


@pytest.mark.parametrize("release", ["obs", "r" * 53, "team.monitoring." + "x" * 37], ids=["short", "longest-helm-allows", "dotted-long"])
def test_object_names_are_valid_and_unique_for_any_release_name(release: str) -> None:
    """Names past 63 characters end in a hash of the full name: plain truncation gave two dashboards one name."""
    rendered = helm.template(CHART, set_json=EVERYTHING, release=release)
    by_kind: dict[str, list[str]] = {}
    for doc in rendered.docs:
        by_kind.setdefault(doc["kind"], []).append(doc["metadata"]["name"])
    assert by_kind.get("ConfigMap"), by_kind
    for kind, names in by_kind.items():
        assert len(names) == len(set(names)), (kind, names)
        for name in names:
            assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) and ".-" not in name, name


def test_short_release_names_keep_readable_object_names() -> None:
    names = {d["metadata"]["name"] for d in helm.template(CHART, set_json=EVERYTHING, release="obs").docs}
    assert "obs-observability-dashboard-llm-engines" in names
