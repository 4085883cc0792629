"""The chart's rules pass `promtool check rules`, the promtool unit tests under
charts/observability/tests/rules/ pass against the rules the chart renders, every
alert has a firing and a silent unit test, every PromQL expression the chart ships
(rules, dashboards, autoscaling queries) parses, and the unit tests catch a wrong
threshold."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import helm
from tests.support.tools import tool

from . import promql

CHART = "observability"
SCENARIOS = helm.ci_values(CHART)
UNIT_TESTS_DIR = promql.CHART_DIR / "tests" / "rules"
UNIT_TESTS = sorted(UNIT_TESTS_DIR.glob("*.test.yaml"))
PROMTOOL_TIMEOUT_S = 120


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=PROMTOOL_TIMEOUT_S)


def run_unit_tests(rendered: helm.Rendered, workdir: Path, only: str = "") -> subprocess.CompletedProcess:
    """`promtool test rules` on the unit test files (all, or those named *<only>*), with the rendered rules as rules.yaml."""
    promql.write(workdir / "rules.yaml", promql.rules_file(rendered))
    tests = [t for t in UNIT_TESTS if only in t.name]
    assert tests, f"no unit test file matches {only!r}"
    for test in tests:
        shutil.copy(test, workdir / test.name)
    return promtool("test", "rules", *(t.name for t in tests), cwd=workdir)


# ---------------------------------------------------------------- promtool check rules

@pytest.mark.parametrize("values", [None, *SCENARIOS], ids=["defaults", *(p.name for p in SCENARIOS)])
def test_rules_pass_promtool_check(values: Path | None, tmp_path: Path) -> None:
    rendered = helm.template(CHART, [values] if values else [])
    path = promql.write(tmp_path / "rules.yaml", promql.rules_file(rendered))
    proc = promtool("check", "rules", "--lint=all", "--lint-fatal", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_two_rules_record_the_same_series() -> None:
    """Rules sharing a record name must differ by a fixed label (source), or Prometheus drops samples."""
    seen: dict[tuple, str] = {}
    for group in promql.prometheus_rules(promql.render_everything()):
        for r in group["rules"]:
            if "record" in r:
                key = (r["record"], tuple(sorted((r.get("labels") or {}).items())), group["name"])
                assert key not in seen, f"{r['record']} recorded twice in {group['name']}"
                seen[key] = group["name"]


# ---------------------------------------------------------------- promtool test rules

def test_unit_tests_pass_against_the_default_render(tmp_path: Path) -> None:
    proc = run_unit_tests(helm.template(CHART), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def unit_test_cases() -> list[dict]:
    return [case for path in UNIT_TESTS for case in yaml.safe_load(path.read_text())["tests"]]


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    alerts = {r["alert"] for g in promql.prometheus_rules(helm.template(CHART)) for r in g["rules"] if "alert" in r}
    fires, silent = set(), set()
    for case in unit_test_cases():
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    assert alerts - fires == set(), "alerts without a test where they fire"
    assert alerts - silent == set(), "alerts without a test where they stay silent"
    assert fires | silent <= alerts, "unit tests name alerts the chart does not have"


def test_every_alert_is_tested_after_its_for_duration_and_before_it() -> None:
    """A firing case also checks an earlier time where the alert is still pending (if `for` > 0)."""
    rules = {r["alert"]: r for g in promql.prometheus_rules(helm.template(CHART)) for r in g["rules"] if "alert" in r}
    pending_checked = set()
    for case in unit_test_cases():
        checks = case.get("alert_rule_test", [])
        for fired in (c for c in checks if c.get("exp_alerts")):
            if any(c["alertname"] == fired["alertname"] and not c.get("exp_alerts") for c in checks):
                pending_checked.add(fired["alertname"])
    needs = {name for name, r in rules.items() if r["for"] not in ("0m", "0s", "0")}
    assert needs - pending_checked == set()


@pytest.mark.parametrize(
    ("values", "unit_tests"),
    [
        ({"alerts.highTimeToFirstToken.threshold": 10}, "engine"),
        ({"alerts.highTimeToFirstToken.threshold": 0.4}, "engine"),
        ({"alerts.kvCacheNearFull.threshold": 0.8}, "engine"),
        ({"alerts.highErrorRatio.threshold": 0.2}, "engine"),
        ({"alerts.gpuIdle.threshold": 50}, "kubernetes"),
        ({"alerts.podRestarts.threshold": 10}, "kubernetes"),
        ({"alerts.serveNoHealthyReplicas.for": "30m"}, "ray-serve"),
    ],
    ids=lambda v: ",".join(f"{k}={val}" for k, val in v.items()) if isinstance(v, dict) else v,
)
def test_unit_tests_fail_on_a_wrong_threshold(values: dict, unit_tests: str, tmp_path: Path) -> None:
    """Mutation check: the unit tests are tight enough to notice a changed threshold or `for`."""
    proc = run_unit_tests(helm.template(CHART, set_json=values), tmp_path, only=unit_tests)
    assert proc.returncode != 0, f"promtool unit tests still pass with {values}:\n{proc.stdout}"
    assert "FAILED" in proc.stdout + proc.stderr


# ---------------------------------------------------------------- every expression parses

@pytest.mark.parametrize("origin", ["rules", "dashboards", "autoscaling"])
def test_every_expression_parses(origin: str, tmp_path: Path) -> None:
    rendered = promql.render_everything()
    expressions = {
        "rules": promql.rule_expressions,
        "dashboards": promql.dashboard_expressions,
        "autoscaling": promql.autoscaling_expressions,
    }[origin](rendered)
    assert expressions
    path = promql.write(tmp_path / "expressions.yaml", promql.synthetic_rules_file(expressions))
    proc = promtool("check", "rules", str(path))
    if proc.returncode != 0:
        # name the failing expressions, not only the synthetic rule numbers
        output = proc.stdout + proc.stderr
        bad = [e for i, e in enumerate(expressions) if f'"check:expression_{i}"' in output or f"rule {i + 1}," in output]
        pytest.fail(f"{proc.stdout}{proc.stderr}\n" + "\n".join(f"{e.origin}: {e.promql}" for e in bad))


def test_a_broken_expression_is_caught(tmp_path: Path) -> None:
    broken = [promql.Expression("dashboards/x", "sum(rate(vllm:generation_tokens_total[$__rate_interval])", "sum(rate(vllm:generation_tokens_total[1m])")]
    path = promql.write(tmp_path / "expressions.yaml", promql.synthetic_rules_file(broken))
    assert promtool("check", "rules", str(path)).returncode != 0


def test_grafana_variables_are_all_substituted() -> None:
    for e in promql.dashboard_expressions(promql.render_everything()) + promql.autoscaling_expressions(promql.render_everything()):
        assert "$" not in e.promql and "<<" not in e.promql, f"{e.origin}: {e.promql}"


# ---------------------------------------------------------------- the metric-name tokenizer

@pytest.mark.parametrize(
    "expr,names",
    [
        ('sum by (namespace, model_name, le) (rate(vllm:time_to_first_token_seconds_bucket[5m]))', {"vllm:time_to_first_token_seconds_bucket"}),
        ('histogram_quantile(0.99, sum by (route, le) (rate(ray_serve_http_request_latency_ms_bucket{route=~"/v1/.+"}[1m])))', {"ray_serve_http_request_latency_ms_bucket"}),
        ('a_total{x="rate(b_total[5m])"} / on (pod) group_left (model_name) c offset 5m', {"a_total", "c"}),
        ('sum(x) * 2.5 / 3600 * 1e6 and on (namespace, pod) llmstack:pod_model:info{model_name=~"m"}', {"x", "llmstack:pod_model:info"}),
        ('max by (deployment) (ray_serve_deployment_status) > 0 <= 2', {"ray_serve_deployment_status"}),
        ('sum without (finished_reason) (llmstack:requests_finished:rate5m{source="vllm"}) or vector(0)', {"llmstack:requests_finished:rate5m"}),
        ('avg_over_time(up[1h:5m]) > bool 0.5 unless absent(foo)', {"up", "foo"}),
    ],
)
def test_metric_names_tokenizer(expr: str, names: set[str]) -> None:
    assert promql.metric_names(expr) == names


def test_tokenizer_agrees_with_the_rules_it_reads() -> None:
    """Every raw metric the recording rules read is found by the tokenizer in their expressions."""
    rendered = helm.template(CHART)
    names = {n for e in promql.rule_expressions(rendered) for n in promql.metric_names(e.promql)}
    for expected in ("vllm:generation_tokens_total", "ray_vllm_generation_tokens_total", "http_requests_total",
                     "ray_serve_num_http_error_requests_total", "kube_pod_container_resource_requests", "DCGM_FI_DEV_GPU_UTIL"):
        assert expected in names
