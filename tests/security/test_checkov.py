"""checkov passes every render of every chart, apart from the documented skips in
tests/security/checkov-skips.yaml, and every skip there is still needed.

Framework `kubernetes` on the manifests helm renders (not checkov's `helm` framework):
the tests choose the values (every preset and ci/ scenario, not only the chart
defaults), the pinned helm and Kubernetes version render them, and the RayService's
pod templates can be added as Pods, which checkov would not see inside the CRD.
"""

from __future__ import annotations

import re

import pytest

from tests.security import cases, skips
from tests.support.checkov import Finding
from tests.support.tools import REPO, tool_home, versions

CASES = cases.cases()
SKIPS = skips.load()
CHECK_ID = re.compile(r"CKV2?_K8S_\d+")
KINDS = {"Pod", "Deployment", "Service", "Secret", "ConfigMap", "NetworkPolicy", "ServiceAccount",
         "PersistentVolumeClaim", "PodDisruptionBudget", "Ingress", "HorizontalPodAutoscaler"}


def describe(f: Finding) -> str:
    return f"{f.check_id} {f.kind}/{f.name}: {f.check_name}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_checkov_reports_no_failure_outside_the_skip_list(case: cases.Case, checkov_findings: dict[str, list[Finding]]) -> None:
    unexplained = skips.unexplained(case.chart, checkov_findings[case.id], SKIPS)
    assert not unexplained, "fix the chart, or justify in checkov-skips.yaml:\n" + "\n".join(sorted(map(describe, unexplained)))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_checkov_scanned_the_render(case: cases.Case, checkov_findings: dict[str, list[Finding]]) -> None:
    """A render checkov silently ignored would pass the test above with nothing checked."""
    findings = checkov_findings[case.id]
    assert sum(f.passed for f in findings) > 0, f"checkov ran no check on {case.id}"
    if case.chart in cases.WORKLOAD_CHARTS:
        assert {f.kind for f in findings} & {"Pod", "Deployment"}, f"checkov saw no workload in {case.id}"
    if case.chart == "kuberay-llm":
        assert any(f.kind == "Pod" and f.name.endswith("-head") for f in findings), "the Ray head was not scanned"


@pytest.mark.parametrize("skip", SKIPS, ids=[f"{s.id}:{'+'.join(s.charts)}:{'+'.join(s.kinds)}" for s in SKIPS])
def test_every_skip_still_matches_a_failure_in_each_of_its_charts_kinds_and_names(
    skip: skips.Skip, checkov_findings: dict[str, list[Finding]]
) -> None:
    assert not skips.staleness(skip, skips.matched(skip, checkov_findings))


def test_skip_entries_name_a_check_charts_kinds_and_a_one_line_reason() -> None:
    assert not skips.entry_problems(skips.raw_entries(), CHECK_ID, cases.CHARTS, KINDS)


def test_checkov_is_the_pinned_version_with_the_locked_closure() -> None:
    """ci/bootstrap rebuilds checkov when requirements/checkov.txt changes; a stale install fails here."""
    lock = (REPO / "requirements" / "checkov.txt").read_text()
    pins = [line for line in lock.splitlines() if line and not line.startswith("#")]
    assert f"checkov=={versions()['CHECKOV_VERSION']}" in pins
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", p) for p in pins), pins
    assert (tool_home("checkov") / "requirements.txt").read_text() == lock, "run `make bootstrap`"
