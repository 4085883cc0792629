"""Renders every case once and scans them all with one checkov run (it starts in ~3 s,
so one run for the session instead of one per render)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.security import cases
from tests.support.pods import ray_pods
from tests.support import checkov


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
