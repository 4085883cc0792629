"""Every ci/ scenario of the observability chart renders, lints strictly and passes
strict kubeconform (Kubernetes and prometheus-operator CRD schemas), with nothing
skipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import helm, kubeconform

CHART = "observability"
SCENARIOS = helm.ci_values(CHART)
IDS = [p.name for p in SCENARIOS]
# Kinds the scenarios must exercise between them, so each schema is checked somewhere.
KINDS_COVERED = {"PodMonitor", "ServiceMonitor", "PrometheusRule", "ConfigMap"}
SUMMARY = re.compile(r"(\d+) resources? found .* Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)")


def test_scenarios_include_defaults_cpu_only_and_everything_on() -> None:
    names = [p.name for p in SCENARIOS]
    assert any("defaults" in n for n in names), names
    assert any("cpu" in n for n in names), names
    assert any("everything" in n for n in names), names


@pytest.mark.parametrize("path", SCENARIOS, ids=IDS)
def test_values_file_starts_with_a_header_comment(path: Path) -> None:
    assert path.read_text().splitlines()[0].startswith("# "), f"{path.name} must open with a comment saying what it is for"


@pytest.mark.parametrize("values", SCENARIOS, ids=IDS)
def test_renders(values: Path) -> None:
    rendered = helm.template(CHART, [values])
    assert rendered.of_kind("PrometheusRule"), "every scenario records and alerts"


@pytest.mark.parametrize("values", SCENARIOS, ids=IDS)
def test_lint_strict_passes(values: Path) -> None:
    proc = helm.lint(CHART, [values])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("values", SCENARIOS, ids=IDS)
def test_kubeconform_strict_passes_without_skips(values: Path) -> None:
    manifests = helm.template_text(CHART, [values])
    proc = kubeconform.validate(manifests)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found, valid, invalid, errors, skipped = map(int, SUMMARY.search(proc.stdout).groups())
    assert (invalid, errors, skipped) == (0, 0, 0), proc.stdout
    assert found == valid == len([d for d in yaml.safe_load_all(manifests) if d])


def test_scenarios_cover_every_kind() -> None:
    kinds = set()
    for values in SCENARIOS:
        kinds |= set(helm.template(CHART, [values]).kinds())
    assert KINDS_COVERED <= kinds, KINDS_COVERED - kinds


def test_no_subchart_dependency() -> None:
    """Installs offline: nothing to fetch, kube-prometheus-stack is wired by labels only."""
    chart = yaml.safe_load((helm.CHARTS / CHART / "Chart.yaml").read_text())
    assert not chart.get("dependencies")
    assert chart["version"] == "0.1.0"
    assert chart["kubeVersion"] == ">=1.29.0-0"
