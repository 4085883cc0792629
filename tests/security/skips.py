"""The lists of accepted scanner failures: tests/security/checkov-skips.yaml, and
kube-score-skips.yaml in the same form (a finding of either scanner has a check id, a
resource kind and a name).

Every entry names a check id, the charts and resource kinds it applies to (optionally
narrowed to resource names by glob) and a one-line justification. A failure no entry
covers fails its render's test; an entry that no longer matches a failure in one of
its charts or kinds fails as stale, so the list shrinks when the charts improve.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import yaml

from tests.support.checkov import Finding
from tests.support.kube_score import Finding as ScoreFinding

SKIPS_FILE = Path(__file__).with_name("checkov-skips.yaml")
FIELDS = {"id", "charts", "kinds", "why"}
OPTIONAL = {"names"}


@dataclass(frozen=True)
class Skip:
    id: str
    charts: tuple[str, ...]
    kinds: tuple[str, ...]
    names: tuple[str, ...]
    why: str

    def covers(self, chart: str, finding: Finding | ScoreFinding) -> bool:
        return (
            finding.check_id == self.id
            and chart in self.charts
            and finding.kind in self.kinds
            and (not self.names or any(fnmatch(finding.name, n) for n in self.names))
        )


def raw_entries(path: Path = SKIPS_FILE) -> list[dict]:
    return yaml.safe_load(path.read_text())["skips"]


def load(path: Path = SKIPS_FILE) -> list[Skip]:
    return [
        Skip(e["id"], tuple(e["charts"]), tuple(e["kinds"]), tuple(e.get("names") or ()), e["why"])
        for e in raw_entries(path)
    ]


def staleness(skip: Skip, matched: list[tuple[str, Finding | ScoreFinding]]) -> list[str]:
    """What of an entry no failure needs any more, given the (chart, finding) failures it covers."""
    problems = []
    if {c for c, _ in matched} != set(skip.charts):
        problems.append(f"stale charts in {skip.id}: {sorted(set(skip.charts) - {c for c, _ in matched})} have no such failure any more")
    if {f.kind for _, f in matched} != set(skip.kinds):
        problems.append(f"stale kinds in {skip.id}: {sorted(set(skip.kinds) - {f.kind for _, f in matched})} have no such failure any more")
    for glob in skip.names:
        narrowed = Skip(skip.id, skip.charts, skip.kinds, (glob,), skip.why)
        if not any(narrowed.covers(c, f) for c, f in matched):
            problems.append(f"stale name {glob!r} in {skip.id}")
    return problems
