"""A pinned render of the chart defaults: any change to what the defaults produce must
be deliberate. Regenerate after an intended change with

    UPDATE_GOLDEN=1 python -m pytest tests/charts/vllm_standalone/test_golden.py

and review the diff of golden/defaults.yaml like code."""

from __future__ import annotations

from pathlib import Path

from tests.support import helm
from tests.support.chart_checks import assert_matches_golden

CHART = "vllm-standalone"
GOLDEN = Path(__file__).parent / "golden" / "defaults.yaml"


def test_default_render_matches_the_golden_file() -> None:
    assert_matches_golden(helm.template_text(CHART), GOLDEN)
