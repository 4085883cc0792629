"""Every ci/ scenario of the observability chart renders, lints strictly and passes
strict kubeconform (Kubernetes and prometheus-operator CRD schemas), with nothing
skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import chart_checks, helm

CHART = "observability"
SCENARIOS = helm.ci_values(CHART)
IDS = [p.name for p in SCENARIOS]
# Kinds the scenarios must exercise between them, so each schema is checked somewhere.
KINDS_COVERED = {"PodMonitor", "ServiceMonitor", "PrometheusRule", "ConfigMap"}


def test_scenarios_include_defaults_cpu_only_and_everything_on() -> None:
    chart_checks.assert_scenarios_include(SCENARIOS, "defaults", "cpu", "everything")


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_values_file_starts_with_a_header_comment(path: Path) -> None:
    chart_checks.assert_starts_with_header_comment(path)


@pytest.mark.parametrize("values", SCENARIOS, ids=IDS)
def test_renders(values: Path) -> None:
    rendered = helm.template(CHART, [values])
    assert rendered.of_kind("PrometheusRule"), "every scenario records and alerts"


@pytest.mark.parametrize("values", SCENARIOS, ids=IDS)
def test_lint_strict_passes(values: Path) -> None:
    chart_checks.assert_lint_passes(CHART, [values])


@pytest.mark.parametrize("values", SCENARIOS, ids=IDS)
def test_kubeconform_strict_passes_without_skips(values: Path) -> None:
    chart_checks.assert_kubeconform_strict(helm.template_text(CHART, [values]))


def test_scenarios_cover_every_kind() -> None:
    chart_checks.assert_kinds_covered(KINDS_COVERED, (helm.template(CHART, [values]) for values in SCENARIOS))


def test_no_subchart_dependency() -> None:
    """Installs offline: nothing to fetch, kube-prometheus-stack is wired by labels only."""
    chart = yaml.safe_load((helm.CHARTS / CHART / "Chart.yaml").read_text())
    assert not chart.get("dependencies")
    assert chart["kubeVersion"] == ">=1.29.0-0"
