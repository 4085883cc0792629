"""The defaults render exactly as pinned in golden/defaults.yaml, so any change to what
the chart renders by default is a visible, reviewed diff. Regenerate after an intended
change with:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/charts/kuberay_llm/test_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from .chart import render_text

GOLDEN = Path(__file__).parent / "golden" / "defaults.yaml"


def test_default_render_matches_golden() -> None:
    rendered = render_text()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(rendered)
    golden = GOLDEN.read_text()
    diff = "".join(difflib.unified_diff(golden.splitlines(True), rendered.splitlines(True), str(GOLDEN), "rendered"))
    assert not diff, f"the default render changed (UPDATE_GOLDEN=1 to accept):\n{diff}"
