"""The lists of accepted scanner failures: tests/security/checkov-skips.yaml, and
kube-score-skips.yaml in the same form (a finding of either scanner has a check id, a
resource kind and a name).

Every entry names a check id, the charts and resource kinds it applies to (optionally
narrowed to resource names by glob) and a one-line justification. A failure no entry
covers fails its render's test; an entry that no longer matches a failure in one of
its charts or kinds fails as stale, so the list shrinks when the charts improve.
"""

from __future__ import annotations

import re
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


def chart_of(case_id: str) -> str:
    """The chart a render case id (`<chart>/<source>/<name>`) belongs to."""
    return case_id.split("/", 1)[0]


def unexplained(chart: str, findings: list, entries: list[Skip]) -> list:
    """The failed findings of one render of `chart` that no entry covers."""
    return [f for f in findings if not f.passed and not any(s.covers(chart, f) for s in entries)]


def matched(skip: Skip, findings_by_case: dict[str, list]) -> list[tuple[str, Finding | ScoreFinding]]:
    """(chart, finding) for every failure across all renders that the entry covers."""
    return [(chart_of(case_id), f) for case_id, fs in findings_by_case.items() for f in fs
            if not f.passed and skip.covers(chart_of(case_id), f)]


def entry_problems(entries: list[dict], check_id: re.Pattern[str], charts: tuple[str, ...], kinds: set[str] | None = None) -> list[str]:
    """What is wrong with the entries of a skip file: fields, check id form, charts, kinds
    (when `kinds` is given), a one-line reason of 20-200 characters, one entry per scope."""
    problems = [] if entries else ["the skip file has no entries"]
    for e in entries:
        if not FIELDS <= set(e) <= FIELDS | OPTIONAL:
            problems.append(f"fields: {e}")
        elif not check_id.fullmatch(e["id"]):
            problems.append(f"check id: {e['id']}")
        elif not (e["charts"] and set(e["charts"]) <= set(charts)):
            problems.append(f"charts: {e}")
        elif kinds is not None and not (e["kinds"] and set(e["kinds"]) <= kinds):
            problems.append(f"kinds: {e}")
        elif not (isinstance(e["why"], str) and 20 <= len(e["why"]) <= 200 and "\n" not in e["why"].strip()):
            problems.append(f"why: {e}")
    scopes = [(e.get("id"), tuple(e.get("charts", ())), tuple(e.get("kinds", ()))) for e in entries]
    if len(scopes) != len(set(scopes)):
        problems.append("one entry per check id, charts and kinds")
    return problems
