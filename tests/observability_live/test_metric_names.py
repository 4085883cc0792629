"""Every metric name the observability chart references (recording and alerting rules,
dashboards, autoscaling queries) is exported by the real component after real traffic:
`ray_*` by serve_app's Ray metrics endpoint, everything else by vLLM's own OpenAI
server, except the documented external exporters (DCGM, kube-state-metrics) and
event-only series."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.charts.observability import promql
from tests.support import helm

from . import exporters

# Labels the chart's rules and dashboards select or group by, per exporter series: a
# renamed label would make a rule silently return nothing, so check them on the wire.
LABELS_USED = {
    "vllm:num_requests_running": {"model_name"},
    "vllm:generation_tokens_total": {"model_name"},
    "vllm:request_success_total": {"model_name", "finished_reason"},
    "vllm:time_to_first_token_seconds_bucket": {"model_name", "le"},
    "http_requests_total": {"handler", "status"},
    "ray_vllm_num_requests_running": {"model_name"},
    "ray_vllm_kv_cache_usage_perc": {"model_name", "ReplicaId"},
    "ray_vllm_request_success_total": {"model_name", "finished_reason"},
    "ray_vllm_time_to_first_token_seconds_bucket": {"model_name", "le"},
    "ray_serve_num_http_requests_total": {"application", "route", "status_code"},
    "ray_serve_num_http_error_requests_total": {"application", "route", "error_code"},
    "ray_serve_http_request_latency_ms_bucket": {"application", "route", "le"},
    "ray_serve_deployment_replica_healthy": {"application", "deployment", "replica"},
    "ray_serve_deployment_status": {"application", "deployment"},
    "ray_serve_deployment_queued_queries": {"application", "deployment"},
}


def test_references_cover_every_origin(references: dict[str, list[str]]) -> None:
    origins = {o.split("/")[0] for found in references.values() for o in found}
    assert origins == {"rules", "dashboards", "autoscaling"}
    assert {exporters.expected_exporter(n) for n in references} == {"ray", "vllm", "external", "prometheus"}


def test_prometheus_own_series_are_exactly_the_documented_ones(references) -> None:
    assert {n for n in references if exporters.expected_exporter(n) == "prometheus"} == set(exporters.PROMETHEUS_SERIES)


def test_every_ray_name_the_chart_references_is_exported_by_ray(references, ray_scrape) -> None:
    missing = exporters.missing_names(references, "ray", ray_scrape)
    assert not missing, f"referenced by the chart but not exported by serve_app's Ray endpoint:\n{exporters.describe(missing)}"


def test_every_vllm_name_the_chart_references_is_exported_by_vllm(references, vllm_scrape) -> None:
    missing = exporters.missing_names(references, "vllm", vllm_scrape)
    assert not missing, f"referenced by the chart but not exported by vLLM's OpenAI server:\n{exporters.describe(missing)}"


def test_external_names_are_exactly_the_documented_allowlist(references) -> None:
    assert not exporters.missing_names(references, "external", None)
    external = {n for n in references if exporters.expected_exporter(n) == "external"}
    assert external - set(exporters.EXTERNAL_EXPORTERS) == set(), "undocumented external metric names"
    assert set(exporters.EXTERNAL_EXPORTERS) - external == set(), "allowlist entries the chart no longer references"


def test_event_only_names_are_referenced_and_their_vllm_twin_is_exported(references, vllm_scrape) -> None:
    for name, (twin, reason) in exporters.EVENT_ONLY.items():
        assert name in references, f"{name} is excused but not referenced: drop it from EVENT_ONLY"
        assert reason
        assert twin in vllm_scrape.names, f"{name}'s vLLM twin {twin} is not exported either"
        assert twin.removeprefix("vllm:") == name.removeprefix("ray_vllm_")


def test_event_only_names_are_really_absent(ray_scrape) -> None:
    """An excuse that is no longer needed must go (then the name is checked like the others)."""
    present = set(exporters.EVENT_ONLY) & ray_scrape.names
    assert not present, f"now exported, remove from EVENT_ONLY: {present}"


def test_prefix_cache_hits_were_provoked(ray_scrape) -> None:
    """Ray exports the counter only once it moved: the repeated long prompt must have hit the cache."""
    assert "ray_vllm_prefix_cache_hits_total" in ray_scrape.names


@pytest.mark.parametrize("name", sorted(LABELS_USED))
def test_labels_the_rules_use_are_on_the_wire(name: str, request: pytest.FixtureRequest) -> None:
    scrape = request.getfixturevalue("ray_scrape" if name.startswith("ray_") else "vllm_scrape")
    assert name in scrape.names
    assert LABELS_USED[name] <= scrape.labels[name], f"{name} has labels {sorted(scrape.labels[name])}"


def test_vllm_label_values_the_rules_match(vllm_scrape) -> None:
    """The rules match grouped HTTP statuses ("5xx") and /v1/ handlers on vLLM's server."""
    statuses = vllm_scrape.values["http_requests_total"]["status"]
    assert statuses <= {"1xx", "2xx", "3xx", "4xx", "5xx"} and {"2xx", "4xx"} <= statuses
    assert any(h.startswith("/v1/") for h in vllm_scrape.values["http_requests_total"]["handler"])
    assert vllm_scrape.values["vllm:num_requests_running"]["model_name"] == {exporters.VLLM_MODEL}


def test_ray_label_values_the_rules_match(ray_scrape, served_app) -> None:
    """The rules match numeric Ray error codes (5..), /v1/ routes, and the served model names."""
    codes = ray_scrape.values["ray_serve_num_http_error_requests_total"]["error_code"]
    assert "404" in codes and all(c.isdigit() for c in codes)
    assert any(r.startswith("/v1/") for r in ray_scrape.values["ray_serve_num_http_requests_total"]["route"])
    assert ray_scrape.values["ray_vllm_num_requests_running"]["model_name"] == set(served_app.models)


def test_a_misspelt_dashboard_metric_is_reported(tmp_path: Path, vllm_scrape) -> None:
    """The check itself works end to end: a copy of the chart with one dashboard query
    misspelt renders, and the misspelt name is reported missing against the real scrapes."""
    chart = tmp_path / "observability"
    shutil.copytree(promql.CHART_DIR, chart)
    board_path = chart / "dashboards" / "llm-engines.json"
    board = json.loads(board_path.read_text())
    panel = next(p for p in board["panels"] if "KV cache usage per engine" in p.get("title", ""))
    panel["targets"][0]["expr"] = panel["targets"][0]["expr"].replace("vllm:kv_cache_usage_perc", "vllm:kv_cache_usage_percent")
    board_path.write_text(json.dumps(board))
    rendered = helm.template(chart, [chart / "ci" / "99-everything-values.yaml"])
    missing = exporters.missing_names(promql.referenced_metrics(promql.all_expressions(rendered)), "vllm", vllm_scrape)
    assert list(missing) == ["vllm:kv_cache_usage_percent"]
    assert missing["vllm:kv_cache_usage_percent"][0].startswith("dashboards/llm-engines.json/")


def test_report_timings(timings: dict[str, float], ray_scrape, vllm_scrape) -> None:
    """Not a check: prints how long each phase took so far (run with -s; stops are printed at teardown)."""
    print("\nobservability live timings (s):", json.dumps({k: round(v, 1) for k, v in timings.items()}))
    assert timings
