"""Run the pinned checkov over rendered manifests and return its findings, parsed.

checkov is a pinned tool (ci/bootstrap installs it into a venv of its own, see
ci/lock-checkov), found through tools.tool() like helm: missing means an error, never a
skip. `--skip-download` keeps it offline (it would otherwise fetch guidelines from
its vendor's API); the kubernetes framework scans the manifests exactly as rendered.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .tools import tool


@dataclass(frozen=True)
class Finding:
    """One check on one resource: `kind`, `name` from checkov's `Kind.namespace.name`."""

    check_id: str
    check_name: str
    kind: str
    name: str
    file: str  # path relative to the scanned directory, without a leading slash
    passed: bool


def _finding(raw: dict, passed: bool) -> Finding:
    kind, _, rest = raw["resource"].partition(".")
    name = rest.split(".", 1)[1] if "." in rest else rest
    return Finding(
        check_id=raw["check_id"],
        check_name=raw["check_name"],
        kind=kind,
        name=name,
        file=raw["file_path"].lstrip("/"),
        passed=passed,
    )


def scan(directory: Path) -> list[Finding]:
    """Every passed and failed kubernetes check on the YAML files under `directory`."""
    proc = subprocess.run(
        [tool("checkov"), "--directory", str(directory), "--framework", "kubernetes",
         "--skip-download", "--output", "json", "--compact"],
        capture_output=True, text=True,
    )
    assert proc.returncode in (0, 1), f"checkov failed to run ({proc.returncode}):\n{proc.stderr[-4000:]}"
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    assert [r["check_type"] for r in reports] == ["kubernetes"], f"unexpected checkov report: {[r.get('check_type') for r in reports]}"
    results = reports[0]["results"]
    assert not reports[0]["summary"]["parsing_errors"], f"checkov could not parse: {results.get('parsing_errors')}"
    return [_finding(r, True) for r in results["passed_checks"]] + [_finding(r, False) for r in results["failed_checks"]]
