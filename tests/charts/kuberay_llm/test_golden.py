"""The defaults render exactly as pinned in golden/defaults.yaml, so any change to what
the chart renders by default is a visible, reviewed diff. Regenerate after an intended
change with:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/charts/kuberay_llm/test_golden.py
"""

from __future__ import annotations

from pathlib import Path

from tests.support.chart_checks import assert_matches_golden

from .chart import render_text

GOLDEN = Path(__file__).parent / "golden" / "defaults.yaml"


def test_default_render_matches_golden() -> None:
    assert_matches_golden(render_text(), GOLDEN)
