"""Bad values fail at `helm template` with the offending field named, and the values
schema is complete: every property described, every object closed, defaults equal to
values.yaml, every values.yaml key documented for helm-docs and used by a template."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.support import chart_checks, helm
from tests.support.chart_checks import bad_values_case as case

CHART = "observability"
CHART_DIR = helm.CHARTS / CHART
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
VALUES_TEXT = (CHART_DIR / "values.yaml").read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
DOCUMENTED = chart_checks.documented_paths(VALUES_TEXT)
# Schema nodes that accept any key: Helm's `global`, and user data maps whose values
# the schema still types (annotations).
OPEN_OBJECTS = {"global"}
# Relabel configs are prometheus-operator RelabelConfig objects, checked by kubeconform
# against the pinned CRD on the rendered monitors.
FREE_FORM_ITEMS = {"relabelings[]", "metricRelabelings[]"}


BAD_VALUES = [
    # ---- schema: unknown keys, types, enums, ranges, patterns
    case("misspelled-top-level-key", {"dashbords": {}}, "dashbords"),
    case("misspelled-alert-key", {"alerts": {"highTimeToFirstToken": {"treshold": 3}}}, "/alerts/highTimeToFirstToken", "treshold"),
    case("unknown-alert", {"alerts": {"diskFull": {"enabled": True}}}, "/alerts", "diskFull"),
    case("threshold-as-string", {"alerts": {"highTimeToFirstToken": {"threshold": "2s"}}}, "/alerts/highTimeToFirstToken/threshold"),
    case("threshold-negative", {"alerts": {"requestsWaitingTooLong": {"threshold": -1}}}, "/alerts/requestsWaitingTooLong/threshold"),
    case("kv-cache-threshold-above-one", {"alerts": {"kvCacheNearFull": {"threshold": 90}}}, "/alerts/kvCacheNearFull/threshold"),
    case("error-ratio-as-percent", {"alerts": {"highErrorRatio": {"threshold": 5}}}, "/alerts/highErrorRatio/threshold"),
    case("gpu-idle-threshold-above-100", {"alerts": {"gpuIdle": {"threshold": 150}}}, "/alerts/gpuIdle/threshold"),
    case("for-not-a-duration", {"alerts": {"kvCacheNearFull": {"for": "15 minutes"}}}, "/alerts/kvCacheNearFull/for"),
    case("unknown-severity", {"alerts": {"preemptions": {"severity": "page"}}}, "/alerts/preemptions/severity"),
    case("restart-window-not-a-duration", {"alerts": {"podRestarts": {"window": "1 hour"}}}, "/alerts/podRestarts/window"),
    case("restart-matchers-with-braces", {"alerts": {"podRestarts": {"matchers": '{container="vllm"}'}}}, "/alerts/podRestarts/matchers"),
    case("runbook-url-not-http", {"alerts": {"runbookBaseUrl": "RUNBOOK.md"}}, "/alerts/runbookBaseUrl"),
    case("scrape-interval-not-a-duration", {"scrape": {"vllm": {"interval": "15"}}}, "/scrape/vllm/interval"),
    case("scrape-port-number-instead-of-name", {"scrape": {"ray": {"port": 8080}}}, "/scrape/ray/port"),
    case("scrape-path-relative", {"scrape": {"vllm": {"path": "metrics"}}}, "/scrape/vllm/path"),
    case("misspelled-namespace-selector-key", {"scrape": {"dcgm": {"namespaceSelector": {"matchName": ["gpu-operator"]}}}}, "/scrape/dcgm/namespaceSelector", "matchName"),
    case("selector-removed", {"scrape": {"vllm": {"selector": None}}}, "/scrape/vllm", "selector"),
    case("rule-interval-not-a-duration", {"rules": {"interval": "often"}}, "/rules/interval"),
    case("gpu-price-zero", {"dashboards": {"cost": {"gpuHourlyPrice": 0}}}, "/dashboards/cost/gpuHourlyPrice"),
    case("gpu-price-as-string", {"dashboards": {"cost": {"gpuHourlyPrice": "2.5 USD"}}}, "/dashboards/cost/gpuHourlyPrice"),
    case("dashboard-label-value-not-a-label", {"dashboards": {"labelValue": "yes please"}}, "/dashboards/labelValue"),
    case("autoscaling-target-without-model", {"autoscaling": {"queries": {"targets": [{"namespace": "llm"}]}}}, "/autoscaling/queries/targets/0", "model"),
    case("autoscaling-query-key-not-camel-case", {"autoscalingQueries": {"Waiting-Requests": "sum(x{namespace=\"$namespace\", model_name=\"$model\"})"}}, "/autoscalingQueries", "Waiting-Requests"),
    # ---- cross-field rules the templates enforce
    case("kube-prometheus-stack-without-release", {"kubePrometheusStack": {"enabled": True, "release": ""}}, "kubePrometheusStack.release"),
    case("scrape-selector-without-labels", {"scrape": {"ray": {"selector": {"matchLabels": None}}}}, "/scrape/ray/selector"),
    case("empty-scrape-selector", {"scrape": {"ray": {"selector": {"matchLabels": None, "matchExpressions": []}}}}, "scrape.ray.selector", "every pod"),
    case("namespace-selector-any-and-names", {"scrape": {"vllm": {"namespaceSelector": {"any": True, "matchNames": ["llm"]}}}}, "scrape.vllm.namespaceSelector"),
    case("rules-without-sources", {"rules": {"sources": {"vllm": False, "ray": False}}}, "rules.sources"),
    case("alerts-without-rules", {"rules": {"enabled": False}, "dashboards": {"enabled": False}}, "alerts.enabled", "rules.enabled"),
    case("dashboards-without-rules", {"rules": {"enabled": False}, "alerts": {"enabled": False}}, "dashboards.enabled", "rules.enabled"),
    case("autoscaling-query-not-aggregated", {"autoscalingQueries": {"numRequestsWaiting": 'vllm:num_requests_waiting{namespace="$namespace", model_name="$model"}'}}, "autoscalingQueries.numRequestsWaiting", "sum"),
    case("autoscaling-query-max-not-sum", {"autoscalingQueries": {"kvCacheUsage": 'max(vllm:kv_cache_usage_perc{namespace="$namespace", model_name="$model"})'}}, "autoscalingQueries.kvCacheUsage", "sum"),
    case("autoscaling-query-without-model", {"autoscalingQueries": {"numRequestsWaiting": 'sum(vllm:num_requests_waiting{namespace="$namespace"})'}}, "autoscalingQueries.numRequestsWaiting", "$model"),
    case("autoscaling-query-without-namespace", {"autoscalingQueries": {"numRequestsWaiting": 'sum(vllm:num_requests_waiting{model_name="$model"})'}}, "autoscalingQueries.numRequestsWaiting", "$namespace"),
    case("scrape-timeout-above-interval", {"scrape": {"vllm": {"interval": "1m", "scrapeTimeout": "1m30s"}}}, "scrape.vllm.scrapeTimeout", "scrape.vllm.interval"),
]


@pytest.mark.parametrize(("values", "expected"), BAD_VALUES)
def test_bad_values_fail_naming_the_field(values: dict[str, Any], expected: tuple[str, ...]) -> None:
    chart_checks.assert_rejected(CHART, values, expected)


def test_negative_matrix_is_large() -> None:
    assert len(BAD_VALUES) >= 10


# ---------------------------------------------------------------- schema completeness

def test_every_schema_property_has_a_description() -> None:
    assert not chart_checks.undescribed_properties(SCHEMA)


def test_every_schema_object_rejects_unknown_keys() -> None:
    assert not chart_checks.open_objects(SCHEMA, allowed=OPEN_OBJECTS | FREE_FORM_ITEMS)


def test_schema_defaults_equal_values_yaml() -> None:
    assert not chart_checks.defaults_differing_from_values(SCHEMA, VALUES)


def test_values_yaml_is_valid_against_the_schema() -> None:
    chart_checks.assert_values_valid(VALUES, SCHEMA)


# ---------------------------------------------------------------- values.yaml documentation

def test_every_values_yaml_leaf_is_documented_for_helm_docs() -> None:
    # A leaf is covered by its own comment; a documented map documents the keys of a
    # selector (Kubernetes LabelSelector content is user data, not chart settings).
    assert not chart_checks.undocumented_leaves(VALUES, DOCUMENTED)


def test_every_setting_is_documented_on_its_own_line() -> None:
    """Settings (not user-data maps) each carry their own `# --`, so the README table lists them one per row."""
    user_data = ("selector", "namespaceSelector")
    missing = [p for p in chart_checks.leaf_paths(VALUES) if p not in DOCUMENTED and not any(part in user_data for part in p.split("."))]
    assert not missing


def test_every_values_key_is_used_by_a_template() -> None:
    """A value nothing reads is a lie in the documentation: each key's name appears in the templates."""
    text = chart_checks.templates_text(CHART_DIR)
    unused = []
    for path in chart_checks.leaf_paths(VALUES):
        parts = path.split(".")
        if parts[0] == "autoscalingQueries" or "selector" in parts[-2:-1] or "matchLabels" in parts or "namespaceSelector" in parts:
            continue  # user data read as a whole map
        if not re.search(rf"\b{re.escape(parts[-1])}\b", text):
            unused.append(path)
    assert not unused


def test_readme_template_renders_the_values_table() -> None:
    chart_checks.assert_readme_renders_values_table(CHART_DIR)
