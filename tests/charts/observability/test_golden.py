"""A pinned render of the chart defaults: any change to what the defaults produce must
be deliberate. Regenerate after an intended change with

    UPDATE_GOLDEN=1 python -m pytest tests/charts/observability/test_golden.py

and review the diff of golden/defaults.yaml like code."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from tests.support import helm

CHART = "observability"
GOLDEN = Path(__file__).parent / "golden" / "defaults.yaml"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def test_default_render_matches_the_golden_file() -> None:
    current = helm.template_text(CHART)
    if UPDATE:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(current)
    assert GOLDEN.is_file(), f"{GOLDEN} is missing: run with UPDATE_GOLDEN=1 to create it"
    golden = GOLDEN.read_text()
    diff = "".join(difflib.unified_diff(golden.splitlines(True), current.splitlines(True), "golden/defaults.yaml", "current render"))
    assert current == golden, f"the default render drifted (UPDATE_GOLDEN=1 regenerates it):\n{diff}"
