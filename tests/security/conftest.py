"""Renders every case once, scans them all with one checkov run (it starts in ~3 s,
so one run for the session instead of one per render), and each with kube-score."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.security import cases
from tests.support.pods import ray_pods
from tests.support import checkov, kube_score


@pytest.fixture(scope="session")
def checkov_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[checkov.Finding]]:
    """Case id -> checkov findings on its render (RayService groups scanned as Pods)."""
    root = tmp_path_factory.mktemp("checkov")
    files: dict[str, str] = {}
    for case in cases.cases():
        rendered = cases.render(case)
        path = root / f"{case.id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all([*rendered.docs, *ray_pods(rendered.docs)], sort_keys=False))
        files[str(path.relative_to(root))] = case.id
    findings: dict[str, list[checkov.Finding]] = {case_id: [] for case_id in files.values()}
    for finding in checkov.scan(root):
        findings[files[finding.file]].append(finding)
    return findings


@pytest.fixture(scope="session")
def kube_score_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[kube_score.Finding]]:
    """Case id -> kube-score findings on its render (RayService groups scanned as Pods).

    One kube-score run per render: its cross-object checks (a NetworkPolicy or a
    PodDisruptionBudget covering a pod) must only see the objects of that release.
    """
    root = tmp_path_factory.mktemp("kube-score")
    findings = {}
    for case in cases.cases():
        rendered = cases.render(case)
        path = root / f"{case.id.replace('/', '_')}.yaml"
        path.write_text(yaml.safe_dump_all([*rendered.docs, *ray_pods(rendered.docs)], sort_keys=False))
        findings[case.id] = kube_score.scan(path)
    return findings
