"""Loads on a release's Service: a streaming load held while the release changes underneath it,
waves of requests past what it runs at once, and light traffic served at once.

Each client opens a new connection per request (a fresh OpenAI client), as separate
users would, so kube-proxy picks an endpoint for every request and a pod that leaves
the Service stops getting new ones. A request counts as served only if its stream
ends with a finish reason (the tiny model's text may be empty); anything else (an HTTP
error, an error event, a reset connection, a stream cut short) is kept with its message.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Self

import httpx

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


class ClientThreads:
    """``clients`` threads running ``_run`` from the context's entry until its exit (``_stop`` set)."""

    # How long the exit waits for each client's request in flight to end.
    JOIN_TIMEOUT_S = 180

    def __init__(self, url: str, model: str, clients: int, name: str) -> None:
        self.url = url
        self.model = model
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(clients)]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.JOIN_TIMEOUT_S)

    def _run(self) -> None:
        raise NotImplementedError


class StreamingLoad(ClientThreads):
    """``clients`` threads, each sending a streamed chat every PAUSE_S after the last, until the context exits."""

    def __init__(self, url: str, model: str, clients: int = 2) -> None:
        super().__init__(url, model, clients, "load")
        self._outcomes: list[Outcome] = []

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


def chat_status(url: str, model: str, max_tokens: int) -> tuple[int, dict]:
    """A non-streamed chat that generates exactly ``max_tokens`` (`ignore_eos`): (status, JSON body)."""
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": max_tokens, "ignore_eos": True},
        timeout=300,
    )
    return response.status_code, response.json()


def chat_status_or_none(url: str, model: str, max_tokens: int) -> tuple[int, dict]:
    """chat_status, with status 0 (and the error as the body) for no HTTP answer or a body that is not JSON."""
    try:
        return chat_status(url, model, max_tokens)
    except (httpx.HTTPError, ValueError) as e:
        return 0, {"error": f"{type(e).__name__}: {e}"}


@dataclass
class Answers:
    """Statuses of a set of requests, with one body per status, and why each request with no HTTP answer (status 0) had none."""

    statuses: Counter = field(default_factory=Counter)
    bodies: dict[int, dict] = field(default_factory=dict)
    unanswered: Counter = field(default_factory=Counter)

    def add(self, status: int, body: dict) -> None:
        self.statuses[status] += 1
        self.bodies.setdefault(status, body)
        if status == 0:
            self.unanswered[body["error"]] += 1


def wave(url: str, model: str, clients: int, max_tokens: int, answers: Answers) -> None:
    """``clients`` chats of ``max_tokens`` sent at once, more than the release runs at once:
    their statuses added to ``answers`` (0 for no HTTP answer or a body that is not JSON)."""

    with ThreadPoolExecutor(clients) as pool:
        for status, body in pool.map(lambda _: chat_status_or_none(url, model, max_tokens), range(clients)):
            answers.add(status, body)


def served_light(url: str, model: str, count: int, concurrency: int) -> None:
    """``count`` one-token chats, ``concurrency`` at a time (no more than the release runs at
    once, so none waits): traffic served at once after a fault, all of it answered 200."""
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(lambda _: chat_status(url, model, 1)[0], range(count)))
    assert set(statuses) == {200}, statuses


def unknown_model_then_served(url: str, model: str) -> None:
    """A chat naming a model the release does not serve (a 404 with an OpenAI error), then one that is served."""
    response = httpx.post(f"{url}/v1/chat/completions", json={"model": "no-such-model", "messages": [{"role": "user", "content": "Hi"}]}, timeout=30)
    assert response.status_code == 404 and response.json()["error"]["message"], response.text
    assert chat_status(url, model, 1)[0] == 200


class BackToBack(ClientThreads):
    """``clients`` threads sending chats of ``max_tokens`` back to back until the context exits,
    more than the release runs at once: a queue that stays, not a burst. Every answer's
    status is kept in ``answers`` (0 for no HTTP answer or a body that is not JSON). A
    client that is not served waits RETRY_AFTER_S first, as the 503's Retry-After asks."""

    # A chat of many tokens behind a queue can take minutes to end.
    JOIN_TIMEOUT_S = 300
    # serve_app's Retry-After on a 503 (serve_app.errors.RETRY_AFTER_S).
    RETRY_AFTER_S = 1

    def __init__(self, url: str, model: str, clients: int, max_tokens: int) -> None:
        super().__init__(url, model, clients, "back-to-back")
        self.max_tokens = max_tokens
        self.answers = Answers()

    def served(self) -> int:
        with self._lock:
            return self.answers.statuses[200]

    def _run(self) -> None:
        while not self._stop.is_set():
            status, body = chat_status_or_none(self.url, self.model, self.max_tokens)
            with self._lock:
                self.answers.add(status, body)
            if status != 200:
                self._stop.wait(self.RETRY_AFTER_S)
