"""Load shapes change the number of users over the run as asked.

Checked on Locust's own per-second history (locust_stats_history.csv, "User Count")
against the FAKE scripted endpoint (tests/support/scripted_sse.py).
"""

from __future__ import annotations

import csv

import pytest

from loadtest.run import parse_args
from tests.support.scripted_sse import Schedule, run_harness

SCHEDULE = Schedule(first_s=0.05, gap_s=0.01, tokens=4)


def user_counts(tmp_path_factory, *shape_args: str) -> list[int]:
    """User count per second of the run, from Locust's history."""
    out = tmp_path_factory.mktemp("shape")
    run_harness(SCHEDULE, out, *shape_args)
    with (out / "locust_stats_history.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    return [int(r["User Count"]) for r in rows]


def test_step_shape_adds_users_step_by_step_up_to_the_peak(tmp_path_factory):
    counts = user_counts(tmp_path_factory, "--shape", "step", "--users", "4", "--step-users", "2", "--step-seconds", "3", "--duration", "8")
    running = [c for c in counts if c]
    assert running[0] == 2, counts
    assert max(running) == 4, counts
    assert running == sorted(running), counts


def test_burst_shape_alternates_between_base_and_peak(tmp_path_factory):
    counts = user_counts(
        tmp_path_factory, "--shape", "burst", "--users", "4", "--burst-base", "1", "--burst-every", "4", "--burst-length", "2", "--duration", "9",
    )
    assert 4 in counts and 1 in counts, counts
    peaks = [i for i, c in enumerate(counts) if c == 4]
    assert any(b - a > 1 for a, b in zip(peaks, peaks[1:])), f"one burst only: {counts}"


@pytest.mark.parametrize("flags, named", [
    (["--users", "0"], "--users"),
    (["--step-seconds", "0"], "--step-seconds"),
    (["--burst-base", "9", "--users", "4"], "--burst-base"),
])
def test_impossible_shape_settings_are_refused_naming_the_flag(capsys, flags, named):
    with pytest.raises(SystemExit):
        parse_args(["--url", "http://127.0.0.1:1", "--out", "x", *flags])
    assert named in capsys.readouterr().err
