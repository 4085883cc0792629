"""Every preset and every ci/ scenario of kuberay-llm renders, lints strictly and passes
strict kubeconform (Kubernetes, KubeRay and monitoring/Gateway API CRD schemas), with
nothing skipped."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from tests.support import chart_checks

from .chart import CHART, EVERYTHING_SCENARIO, PRESETS, SCENARIOS, VALUE_SET_IDS, VALUE_SETS, render, render_text, values_args

REQUIRED_PRESETS = {
    "llama-3.1-8b-2x1gpu.yaml",
    "llama-3.1-70b-tp4.yaml",
    "llama-3.1-405b-tp8-pp4-multinode.yaml",
    "two-models-shared-pool.yaml",
    "cpu-tiny.yaml",
    "two-7b-models-one-gpu.yaml",
    "llama-3.1-8b-spot-pool.yaml",
    "ab-llama-8b-versions.yaml",
    "llama-3.1-8b-prefill-decode.yaml",
}
# Kinds the value sets must render between them, so each schema is checked somewhere.
KINDS_COVERED = {
    "RayService", "Service", "ServiceAccount", "Secret", "PersistentVolumeClaim",
    "NetworkPolicy", "PodDisruptionBudget", "Ingress", "HTTPRoute", "PodMonitor", "Pod",
}
SOURCE = re.compile(r"^# Source: [^/]+/(templates/\S+)$", re.MULTILINE)


def test_required_presets_exist() -> None:
    assert REQUIRED_PRESETS <= {p.name for p in PRESETS}


def test_scenarios_include_cpu_only_and_everything_on() -> None:
    chart_checks.assert_scenarios_include(SCENARIOS, "cpu", "everything")


@pytest.mark.parametrize("path", [*SCENARIOS, *PRESETS], ids=VALUE_SET_IDS[1:])
def test_values_file_starts_with_a_header_comment(path: Path) -> None:
    chart_checks.assert_starts_with_header_comment(path)


@pytest.mark.parametrize("values", VALUE_SETS, ids=VALUE_SET_IDS)
def test_renders_one_rayservice(values: Path | None) -> None:
    rendered = render(values_args(values))
    assert len(rendered.of_kind("RayService")) == 1


@pytest.mark.parametrize("values", VALUE_SETS, ids=VALUE_SET_IDS)
def test_lint_strict_passes(values: Path | None) -> None:
    chart_checks.assert_lint_passes(CHART, values_args(values))


@pytest.mark.parametrize("values", VALUE_SETS, ids=VALUE_SET_IDS)
def test_kubeconform_strict_passes_without_skips(values: Path | None) -> None:
    chart_checks.assert_kubeconform_strict(render_text(values_args(values)))


def test_value_sets_cover_every_kind_the_chart_renders() -> None:
    chart_checks.assert_kinds_covered(KINDS_COVERED, (render(values_args(values)) for values in VALUE_SETS))


def test_kubeconform_rejects_an_unknown_rayservice_field() -> None:
    """Guards the kubeconform test against passing vacuously: the RayService is checked too."""
    manifests = render_text().replace("excludeHeadPodFromServeSvc:", "notAField: 1\n  excludeHeadPodFromServeSvc:")
    chart_checks.assert_kubeconform_rejects(manifests, "notAField")


def test_each_template_file_renders_one_kind() -> None:
    kinds_by_file: dict[str, set[str]] = defaultdict(set)
    text = render_text([EVERYTHING_SCENARIO])
    for chunk in text.split("\n---\n"):
        source = SOURCE.search(chunk)
        doc = yaml.safe_load(chunk)
        if source and doc:
            kinds_by_file[source.group(1)].add(doc["kind"])
    assert kinds_by_file, "no template rendered"
    mixed = {f: k for f, k in kinds_by_file.items() if len(k) > 1}
    assert not mixed, f"template files rendering several kinds: {mixed}"
    for path, kinds in kinds_by_file.items():
        (kind,) = kinds
        name = Path(path).stem.replace("-", "")
        assert name.startswith(kind.lower()), f"{path} renders a {kind}; name the file after its kind"
