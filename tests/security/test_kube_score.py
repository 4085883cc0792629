"""kube-score, a second opinion beside checkov, passes every render of every chart apart
from the documented skips in tests/security/kube-score-skips.yaml, and every skip there
is still needed (same form and rules as checkov-skips.yaml, tests/security/skips.py).

Its own checks that checkov lacks are why it is here: identical readiness and liveness
probes, ephemeral storage requests and limits, a pod no NetworkPolicy or PDB covers,
Services that select no pod.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.security import cases, skips
from tests.support.kube_score import Finding

CASES = cases.cases()
SKIPS_FILE = Path(__file__).with_name("kube-score-skips.yaml")
SKIPS = skips.load(SKIPS_FILE)
CHECK_ID = re.compile(r"[a-z][a-z0-9-]+")


def describe(f: Finding) -> str:
    return f"{f.check_id} {f.kind}/{f.name}: {f.check_name} ({'; '.join(f.comments)})"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_kube_score_reports_no_failure_outside_the_skip_list(case: cases.Case, kube_score_findings: dict[str, list[Finding]]) -> None:
    unexplained = skips.unexplained(case.chart, kube_score_findings[case.id], SKIPS)
    assert not unexplained, "fix the chart, or justify in kube-score-skips.yaml:\n" + "\n".join(sorted(map(describe, unexplained)))


@pytest.mark.parametrize("case", [c for c in CASES if c.chart in cases.WORKLOAD_CHARTS], ids=lambda c: c.id)
def test_kube_score_scored_the_workloads(case: cases.Case, kube_score_findings: dict[str, list[Finding]]) -> None:
    """A render kube-score silently skipped would pass the test above with nothing checked."""
    findings = kube_score_findings[case.id]
    assert {f.kind for f in findings if f.passed} & {"Pod", "Deployment"}, f"kube-score scored no workload in {case.id}"


@pytest.mark.parametrize("skip", SKIPS, ids=[f"{s.id}:{'+'.join(s.charts)}:{'+'.join(s.kinds)}" for s in SKIPS])
def test_every_skip_still_matches_a_failure_in_each_of_its_charts_kinds_and_names(
    skip: skips.Skip, kube_score_findings: dict[str, list[Finding]]
) -> None:
    assert not skips.staleness(skip, skips.matched(skip, kube_score_findings))


def test_skip_entries_name_a_check_charts_kinds_and_a_one_line_reason() -> None:
    assert not skips.entry_problems(skips.raw_entries(SKIPS_FILE), CHECK_ID, cases.CHARTS)
