"""Every user-facing preset and every ci/ scenario of vllm-standalone renders, lints
strictly and passes strict kubeconform (Kubernetes and CRD schemas), with nothing
skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import chart_checks, helm
from tests.support.chart_checks import values_args

CHART = "vllm-standalone"
PRESETS = helm.presets(CHART)
SCENARIOS = helm.ci_values(CHART)
DEFAULTS = None  # the chart's own values.yaml only
VALUE_SETS = [DEFAULTS, *SCENARIOS, *PRESETS]
IDS = ["defaults", *(f"ci/{p.name}" for p in SCENARIOS), *(f"values/{p.name}" for p in PRESETS)]

REQUIRED_PRESETS = {
    "llama-3.1-8b-l4.yaml",
    "llama-3.1-70b-tp4-h100.yaml",
    "qwen2.5-7b-a10g.yaml",
    "multi-model.yaml",
    "cpu-tiny.yaml",
    "ab-llama-8b-versions.yaml",
}
# Kinds the scenarios must exercise between them, so each schema is checked somewhere.
KINDS_COVERED = {
    "Deployment", "Service", "PersistentVolumeClaim", "ServiceAccount", "Secret",
    "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Ingress",
    "HTTPRoute", "ScaledObject", "ServiceMonitor", "PodMonitor", "Pod", "ConfigMap",
}


def test_required_presets_exist() -> None:
    assert REQUIRED_PRESETS <= {p.name for p in PRESETS}


def test_scenarios_include_cpu_only_and_everything_on() -> None:
    chart_checks.assert_scenarios_include(SCENARIOS, "cpu", "everything")


@pytest.mark.parametrize("path", [*SCENARIOS, *PRESETS], ids=IDS[1:])
def test_values_file_starts_with_a_header_comment(path: Path) -> None:
    chart_checks.assert_starts_with_header_comment(path)


@pytest.mark.parametrize("values", VALUE_SETS, ids=IDS)
def test_renders(values: Path | None) -> None:
    rendered = helm.template(CHART, values_args(values))
    assert rendered.of_kind("Deployment"), "every values set serves at least one model"


@pytest.mark.parametrize("values", VALUE_SETS, ids=IDS)
def test_lint_strict_passes(values: Path | None) -> None:
    chart_checks.assert_lint_passes(CHART, values_args(values))


@pytest.mark.parametrize("values", VALUE_SETS, ids=IDS)
def test_kubeconform_strict_passes_without_skips(values: Path | None) -> None:
    chart_checks.assert_kubeconform_strict(helm.template_text(CHART, values_args(values)))


def test_scenarios_cover_every_kind_the_chart_renders() -> None:
    chart_checks.assert_kinds_covered(KINDS_COVERED, (helm.template(CHART, values_args(values)) for values in VALUE_SETS))


def test_kubeconform_rejects_an_unknown_field() -> None:
    """Guards the check above against passing vacuously."""
    manifests = helm.template_text(CHART).replace("enableServiceLinks: false", "enableServiceLinks: false\n      notAField: 1")
    chart_checks.assert_kubeconform_rejects(manifests, "notAField")
