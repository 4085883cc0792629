"""The harness reports how late its own event loop ran, and warns when it was starved.

Against the FAKE scripted endpoint (tests/support/scripted_sse.py). The starved case
is real starvation: mid-run, the harness drops to the lowest priority, pinned to one
CPU that a busy loop at normal priority also holds, which is what a busy-polling CPU
engine does to a load generator sharing its cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadtest.report import STARVED_P99_MS
from tests.support.scripted_sse import Schedule, scripted_server

SCHEDULE = Schedule(first_s=0.02, gap_s=0.005, tokens=8)
DURATION_S = 8
STARVE_AFTER_S = 4
REPO = Path(__file__).resolve().parents[2]


def harness(url: str, out: Path, cpu: int | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "loadtest.run", "--url", url, "--out", str(out), "--model", "scripted", "--kind", "completion",
         "--users", "2", "--duration", str(DURATION_S), "--max-tokens", str(SCHEDULE.tokens)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Own process group (to renice it as one), same session: the kernel's autogroup
        # scheduling weighs nice values only against tasks of the same session.
        preexec_fn=lambda: (os.setpgrp(), cpu is not None and os.sched_setaffinity(0, {cpu})),
    )


def finished(proc: subprocess.Popen, out: Path) -> tuple[int, str, dict]:
    _, stderr = proc.communicate(timeout=180)
    return proc.returncode, stderr, json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def quiet_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("quiet")
    with scripted_server(SCHEDULE) as url:
        return finished(harness(url, out), out)


@pytest.fixture(scope="module")
def starved_run(tmp_path_factory):
    cpu = max(os.sched_getaffinity(0))
    out = tmp_path_factory.mktemp("starved")
    with scripted_server(SCHEDULE) as url:
        proc = harness(url, out, cpu)
        # Let Locust start at full speed, then drop the harness to the lowest priority on
        # its CPU and put a busy loop there: it now gets ~1.5% of that CPU.
        time.sleep(STARVE_AFTER_S)
        os.setpriority(os.PRIO_PGRP, proc.pid, 19)
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
        try:
            return finished(proc, out)
        finally:
            hog.kill()
            hog.wait()


def test_a_quiet_run_reports_a_small_lag_and_no_warning(quiet_run):
    code, stderr, summary = quiet_run
    assert code == 0, stderr[-2000:]
    assert summary["client_lag_ms"]["p50"] < 20, summary["client_lag_ms"]
    assert "starved" not in stderr


def test_a_starved_run_reports_the_lag_and_warns(starved_run):
    _, stderr, summary = starved_run
    assert summary["client_lag_ms"]["p99"] > STARVED_P99_MS, summary["client_lag_ms"]
    assert "load generator was starved of CPU" in stderr
