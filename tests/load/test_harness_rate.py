"""A target request rate paces the users; without one they send back to back.

Against the FAKE scripted endpoint (tests/support/scripted_sse.py), a request takes
about 150 ms, so 4 unpaced users send ~25 requests/s. Paced to 6 requests/s, they
must send about 6, and the summary must carry the target next to what was achieved.
"""

from __future__ import annotations

import json

import pytest

from loadtest.run import parse_args
from tests.support.scripted_sse import Schedule, run_harness

SCHEDULE = Schedule(first_s=0.05, gap_s=0.01, tokens=10)
USERS = 4
TARGET = 6.0


def harness_summary(tmp_path_factory, rate: float) -> dict:
    out = tmp_path_factory.mktemp(f"rate{rate}")
    assert run_harness(SCHEDULE, out, "--users", str(USERS), "--duration", "8", "--rate", str(rate)) == 0
    return json.loads((out / "summary.json").read_text())


def test_a_paced_run_sends_the_target_rate(tmp_path_factory):
    summary = harness_summary(tmp_path_factory, TARGET)
    assert summary["target_requests_per_s"] == TARGET
    assert TARGET * 0.7 <= summary["requests_per_s"] <= TARGET * 1.3, summary["requests_per_s"]


def test_an_unpaced_run_sends_back_to_back(tmp_path_factory):
    summary = harness_summary(tmp_path_factory, 0)
    assert summary["target_requests_per_s"] is None
    assert summary["requests_per_s"] > TARGET * 2, summary["requests_per_s"]


def test_a_negative_rate_is_refused_naming_the_flag(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--url", "http://127.0.0.1:1", "--out", "x", "--rate", "-1"])
    assert "--rate" in capsys.readouterr().err
