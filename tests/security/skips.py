"""The one list of accepted checkov failures: tests/security/checkov-skips.yaml.

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

    def covers(self, chart: str, finding: Finding) -> bool:
        return (
            finding.check_id == self.id
            and chart in self.charts
            and finding.kind in self.kinds
            and (not self.names or any(fnmatch(finding.name, n) for n in self.names))
        )


def raw_entries() -> list[dict]:
    return yaml.safe_load(SKIPS_FILE.read_text())["skips"]


def load() -> list[Skip]:
    return [
        Skip(e["id"], tuple(e["charts"]), tuple(e["kinds"]), tuple(e.get("names") or ()), e["why"])
        for e in raw_entries()
    ]
