"""A streaming load held on a Service while the release changes underneath it.

Each client opens a new connection per request (a fresh OpenAI client), as separate
users would, so kube-proxy picks an endpoint for every request and a pod that leaves
the Service stops getting new ones. A request counts as served only if its stream
ends with a finish reason (the tiny model's text may be empty); anything else (an HTTP
error, an error event, a reset connection, a stream cut short) is kept with its message.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from tests.cluster.kube import wait_for

from .charts import streamed_chat

REQUEST_MAX_TOKENS = 12
# Each client rests this long between requests: a steady stream of users (a request is
# nearly always in flight) rather than a saturating benchmark, so on 2 cores the new
# replica an upgrade starts still gets CPU beside the old one serving.
PAUSE_S = 0.5
# Requests a change (an upgrade's rollout) must have served while it ran, so that the
# load really spanned it.
SERVED_ACROSS_A_CHANGE = 10


@dataclass(frozen=True)
class Outcome:
    started: float
    finished: float
    error: str | None


class StreamingLoad:
    """``clients`` threads, each sending a streamed chat every PAUSE_S after the last, until the context exits."""

    def __init__(self, url: str, model: str, clients: int = 2) -> None:
        self.url = url
        self.model = model
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._threads = [threading.Thread(target=self._run, name=f"load-{i}", daemon=True) for i in range(clients)]

    def __enter__(self) -> StreamingLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=180)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                _, finish = streamed_chat(self.url, self.model, max_tokens=REQUEST_MAX_TOKENS)
                # "stop" with no text is an answer too: the tiny model may sample its end token first.
                error = None if finish in ("length", "stop") else f"stream ended without a finish reason: {finish=}"
            except Exception as e:  # noqa: BLE001 - every failure is the finding
                error = f"{type(e).__name__}: {e}"
            with self._lock:
                self._outcomes.append(Outcome(started, time.monotonic(), error))
            self._stop.wait(PAUSE_S)

    @property
    def outcomes(self) -> list[Outcome]:
        with self._lock:
            return list(self._outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error]

    def served(self) -> int:
        return sum(1 for o in self.outcomes if not o.error)

    def served_between(self, start: float, end: float) -> int:
        """Requests served that were sent after ``start`` and finished before ``end``."""
        return sum(1 for o in self.outcomes if not o.error and o.started >= start and o.finished <= end)

    def assert_nothing_failed_across(self, start: float, end: float, at_least: int = SERVED_ACROSS_A_CHANGE) -> None:
        """No request failed, and at least ``at_least`` were served between ``start`` and ``end`` (the change)."""
        assert self.failures == [], self.failures
        assert self.served_between(start, end) >= at_least, self.outcomes

    def wait_served(self, count: int, timeout_s: float = 120) -> None:
        """Block until ``count`` requests in all were served (failing early if one failed)."""

        def enough() -> bool:
            if self.failures:
                raise AssertionError(f"a request failed under load: {self.failures[0]}")
            return self.served() >= count

        wait_for(f"{count} requests served under load", enough, timeout_s)
