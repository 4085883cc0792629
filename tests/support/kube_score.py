"""Run the pinned kube-score over rendered manifests and return its findings, parsed.

kube-score is the second opinion beside checkov (tests/security): its checks overlap
little with checkov's (probe design, ephemeral storage, NetworkPolicy and PDB targeting
of the same render). A finding is one check on one object; it has failed when it is
not skipped and graded warning or critical.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .tools import tool

# kube-score's grades: 10 all OK, 7 almost OK, 5 warning, 1 critical.
FAILING_GRADE = 5


@dataclass(frozen=True)
class Finding:
    """One check on one object (kind and name from kube-score's `Kind/version/namespace/name`)."""

    check_id: str
    check_name: str
    kind: str
    name: str
    passed: bool
    comments: tuple[str, ...]


def scan(manifests: Path) -> list[Finding]:
    """Every check kube-score ran on the objects of one file (one render: cross-object
    checks such as "a NetworkPolicy selects this pod" look only within it)."""
    proc = subprocess.run([tool("kube-score"), "score", str(manifests), "--output-format", "json"], capture_output=True, text=True)
    # Exit code 1 means "critical findings"; anything else without JSON is a failure to run.
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise RuntimeError(f"kube-score failed on {manifests} (exit {proc.returncode}): {proc.stderr}")
    findings = []
    for obj in json.loads(proc.stdout) or []:
        kind = obj["type_meta"]["kind"]
        name = obj["object_meta"]["name"]
        for check in obj["checks"]:
            if check["skipped"]:
                continue
            findings.append(Finding(
                check_id=check["check"]["id"],
                check_name=check["check"]["name"],
                kind=kind,
                name=name,
                passed=check["grade"] > FAILING_GRADE,
                comments=tuple(f"{c.get('path', '')}: {c.get('summary', '')}".strip(": ") for c in check["comments"] or []),
            ))
    return findings
