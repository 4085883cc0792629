"""Every user-facing preset and every ci/ scenario of vllm-standalone renders, lints
strictly and passes strict kubeconform (Kubernetes and CRD schemas), with nothing
skipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import helm

from tests.support.kubeconform import validate

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
}
# Kinds the scenarios must exercise between them, so each schema is checked somewhere.
KINDS_COVERED = {
    "Deployment", "Service", "PersistentVolumeClaim", "ServiceAccount", "Secret",
    "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Ingress",
    "HTTPRoute", "ScaledObject", "ServiceMonitor", "PodMonitor", "Pod",
}
SUMMARY = re.compile(r"(\d+) resources? found .* Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)")


def values_args(values: Path | None) -> list[Path]:
    return [values] if values else []


def test_required_presets_exist() -> None:
    assert REQUIRED_PRESETS <= {p.name for p in PRESETS}


def test_scenarios_include_cpu_only_and_everything_on() -> None:
    names = [p.name for p in SCENARIOS]
    assert any("cpu" in n for n in names), names
    assert any("everything" in n for n in names), names


@pytest.mark.parametrize("path", [*SCENARIOS, *PRESETS], ids=IDS[1:])
def test_values_file_starts_with_a_header_comment(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# "), f"{path.name} must open with a comment saying what it is for"


@pytest.mark.parametrize("values", VALUE_SETS, ids=IDS)
def test_renders(values: Path | None) -> None:
    rendered = helm.template(CHART, values_args(values))
    assert rendered.of_kind("Deployment"), "every values set serves at least one model"


@pytest.mark.parametrize("values", VALUE_SETS, ids=IDS)
def test_lint_strict_passes(values: Path | None) -> None:
    proc = helm.lint(CHART, values_args(values))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("values", VALUE_SETS, ids=IDS)
def test_kubeconform_strict_passes_without_skips(values: Path | None) -> None:
    manifests = helm.template_text(CHART, values_args(values))
    proc = validate(manifests)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found, valid, invalid, errors, skipped = map(int, SUMMARY.search(proc.stdout).groups())
    assert (invalid, errors, skipped) == (0, 0, 0), proc.stdout
    assert found == valid == len([d for d in yaml.safe_load_all(manifests) if d])


def test_scenarios_cover_every_kind_the_chart_renders() -> None:
    kinds: set[str] = set()
    for values in VALUE_SETS:
        kinds |= set(helm.template(CHART, values_args(values)).kinds())
    assert KINDS_COVERED <= kinds, f"not rendered by any scenario: {KINDS_COVERED - kinds}"


def test_kubeconform_rejects_an_unknown_field() -> None:
    """Guards the check above against passing vacuously."""
    manifests = helm.template_text(CHART).replace("enableServiceLinks: false", "enableServiceLinks: false\n      notAField: 1")
    proc = validate(manifests)
    assert proc.returncode != 0
    assert "notAField" in proc.stdout
