"""How late the load generator's own event loop runs: a starved client under-reports.

All Locust users share one gevent hub. When the machine's CPU is saturated (a CPU
engine busy-polling on the same cores, say), the hub resumes greenlets late: requests
go out late and tokens are stamped late, and the run understates the endpoint. A probe
greenlet sleeps for a fixed tick and records how much later than asked it woke up; the
summary reports the percentiles, so a run from a starved client is visible as such.
"""

from __future__ import annotations

import time

import gevent

TICK_S = 0.05


class LagProbe:
    def __init__(self) -> None:
        self.samples_s: list[float] = []
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self.samples_s = []  # a new run in Locust's web UI starts a new series
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> list[float]:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        return list(self.samples_s)

    def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            gevent.sleep(TICK_S)
            self.samples_s.append(max(0.0, time.perf_counter() - t0 - TICK_S))
