"""Locust load test for any OpenAI-compatible endpoint (serve_app, vLLM, or anyone's).

Each simulated user streams chat or text completions and records, per request, the
figures that matter for LLM serving: time to first token (TTFT), inter-token latency
(ITL), time per output token (TPOT), end-to-end latency and output tokens. They are
reported to Locust as extra request types (so they appear in its CSV and HTML report)
and written, per request, to a JSON file that loadtest.report summarises. In Locust's
tables, read request rates from the POST rows: the METRIC rows (ttft, tpot, e2e, one
each per request) count into Locust's "Aggregated" row too.

Configuration is by environment variable, so the same file runs headless in CI, from
`make load URL=...`, or in Locust's web UI (`python -m locust -f loadtest/locustfile.py`
from the repository root, which puts `loadtest` on the import path):

    LOAD_MODEL            model name (default: the first from /v1/models)
    LOAD_API_KEY          bearer token, if the endpoint needs one
    LOAD_KIND             chat | completion | mixed (default mixed)
    LOAD_PROMPT_WORDS     prompt length in words: N or MIN-MAX (uniform), default 16-64
    LOAD_MAX_TOKENS       output tokens per request: N or MIN-MAX, default 32-128
    LOAD_IGNORE_EOS       1 to force exactly max_tokens output (vLLM extension), default 1
    LOAD_SHAPE            constant | step | burst (default constant)
    LOAD_USERS            users (constant), or the peak (step/burst); default 8
    LOAD_RATE             target requests/s at LOAD_USERS users (0 = none: each user sends
                          its next request as soon as the last one ends). Each user paces
                          itself to LOAD_RATE / LOAD_USERS, from a random start offset, so
                          arrivals do not come in waves. A user whose request takes longer
                          than its interval starts the next one at once: the achieved rate
                          (summary.json requests_per_s) then falls below the target.
    LOAD_SPAWN_RATE       users started per second; default = LOAD_USERS
    LOAD_DURATION_S       run time in seconds; default 60
    LOAD_STEP_USERS / LOAD_STEP_S      step shape: add this many users every this many seconds
    LOAD_BURST_BASE / LOAD_BURST_EVERY_S / LOAD_BURST_LENGTH_S   burst shape: BASE users, and
                          LOAD_USERS for LENGTH seconds out of every EVERY seconds
    LOAD_RECORDS          path of the per-request JSON records (default: records.json)
    LOAD_LAG              path of the client's event-loop lag samples (default: client_lag.json
                          next to the records; see loadtest/lag.py)

`python -m loadtest.run` sets all of these from its flags (--users, --rate, --step-users, ...).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import gevent
from locust import HttpUser, LoadTestShape, constant, constant_throughput, events, task
from requests.exceptions import RequestException

from loadtest.lag import LagProbe
from loadtest.prompts import word_prompt
from loadtest.sse import StreamResult, read_stream

_records: list[dict] = []
_lock = threading.Lock()
_lag = LagProbe()

def _env_range(name: str, default: str) -> tuple[int, int]:
    raw = os.environ.get(name, default)
    lo, _, hi = raw.partition("-")
    return int(lo), int(hi or lo)

def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))

def _pick(bounds: tuple[int, int], rng: random.Random) -> int:
    return rng.randint(*bounds)

# LOAD_RATE shared out over the peak users (0: no pacing).
RATE_PER_USER = float(os.environ.get("LOAD_RATE") or 0) / _env_int("LOAD_USERS", 8)

class OpenAIUser(HttpUser):
    """One client streaming requests back to back, or paced to LOAD_RATE.

    HttpUser (requests), not FastHttpUser: its ``iter_lines`` hands over each chunk as
    it arrives, while FastHttpUser's reads 1 KiB first and would move the first token
    late. FastHttpUser saved under 10% of the client's CPU in a side-by-side run.
    """

    abstract = False
    wait_time = constant_throughput(RATE_PER_USER) if RATE_PER_USER > 0 else constant(0)

    def on_start(self) -> None:
        self.rng = random.Random()
        if RATE_PER_USER > 0:
            gevent.sleep(self.rng.uniform(0, 1 / RATE_PER_USER))
        # identity: a compressing gateway would hold chunks back and the SSE lines
        # could not be read as they arrive.
        self.headers = {"Accept-Encoding": "identity"}
        key = os.environ.get("LOAD_API_KEY")
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        self.model = os.environ.get("LOAD_MODEL") or self._first_model()
        self.kind = os.environ.get("LOAD_KIND", "mixed")
        self.prompt_words = _env_range("LOAD_PROMPT_WORDS", "16-64")
        self.max_tokens = _env_range("LOAD_MAX_TOKENS", "32-128")
        self.ignore_eos = os.environ.get("LOAD_IGNORE_EOS", "1") == "1"

    def _first_model(self) -> str:
        with self.client.get("/v1/models", name="/v1/models", headers=self.headers, catch_response=True) as r:
            return r.json()["data"][0]["id"]

    def _prompt(self) -> str:
        return word_prompt(self.rng, _pick(self.prompt_words, self.rng))

    @task
    def generate(self) -> None:
        kind = self.kind if self.kind != "mixed" else self.rng.choice(["chat", "completion"])
        max_tokens = _pick(self.max_tokens, self.rng)
        body: dict = {
            "model": self.model,
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.ignore_eos:
            body["ignore_eos"] = True
        if kind == "chat":
            path = "/v1/chat/completions"
            body["messages"] = [{"role": "user", "content": self._prompt()}]
        else:
            path = "/v1/completions"
            body["prompt"] = self._prompt()
        self._stream(path, kind, body)

    def _stream(self, path: str, kind: str, body: dict) -> None:
        start = time.perf_counter()
        result = StreamResult()
        with self.client.post(path, json=body, headers=self.headers, stream=True, name=path, catch_response=True) as r:
            if r.status_code != 200:
                result.error = f"HTTP {r.status_code}: {(r.text or '')[:200]}"
            else:
                try:
                    result = read_stream(r.iter_lines(), kind)
                except (OSError, RequestException) as e:
                    result.error = f"stream broken: {type(e).__name__}: {e}"
            if result.error:
                r.failure(result.error)
            else:
                r.success()
        end = time.perf_counter()
        self._record(kind, start, end, result.token_times, result.usage, result.error)

    def _record(self, kind: str, start: float, end: float, token_times: list[float], usage: dict | None, error: str | None) -> None:
        output_tokens = (usage or {}).get("completion_tokens") or len(token_times)
        rec = {
            "kind": kind,
            "start": start,
            "e2e_s": end - start,
            "ttft_s": (token_times[0] - start) if token_times else None,
            "itl_s": [b - a for a, b in zip(token_times, token_times[1:])],
            "tpot_s": ((end - token_times[0]) / (output_tokens - 1)) if token_times and output_tokens > 1 else None,
            "prompt_tokens": (usage or {}).get("prompt_tokens"),
            "output_tokens": output_tokens if not error else 0,
            "error": error,
        }
        with _lock:
            _records.append(rec)
        if rec["ttft_s"] is not None and not error:
            fire = self.environment.events.request.fire
            fire(request_type="METRIC", name="ttft", response_time=rec["ttft_s"] * 1000, response_length=0, exception=None, context={})
            if rec["tpot_s"] is not None:
                fire(request_type="METRIC", name="tpot", response_time=rec["tpot_s"] * 1000, response_length=0, exception=None, context={})
            fire(request_type="METRIC", name="e2e", response_time=rec["e2e_s"] * 1000, response_length=output_tokens, exception=None, context={})

class ConfiguredShape(LoadTestShape):
    """constant, step or burst load, chosen by LOAD_SHAPE; stops after LOAD_DURATION_S."""

    def tick(self):
        shape = os.environ.get("LOAD_SHAPE", "constant")
        users = _env_int("LOAD_USERS", 8)
        rate = float(os.environ.get("LOAD_SPAWN_RATE", users))
        t = self.get_run_time()
        if t >= _env_int("LOAD_DURATION_S", 60):
            return None
        if shape == "constant":
            return users, rate
        if shape == "step":
            step_users, step_s = _env_int("LOAD_STEP_USERS", 2), _env_int("LOAD_STEP_S", 10)
            return min(users, step_users * (1 + int(t // step_s))), rate
        if shape == "burst":
            base = _env_int("LOAD_BURST_BASE", 1)
            every, length = _env_int("LOAD_BURST_EVERY_S", 20), _env_int("LOAD_BURST_LENGTH_S", 5)
            return (users if (t % every) < length else base), max(rate, users)
        raise ValueError(f"LOAD_SHAPE must be constant, step or burst, not {shape!r}")

@events.test_start.add_listener
def _start_lag_probe(environment, **_kw) -> None:
    _lag.start()

@events.test_stop.add_listener
def _write_records(environment, **_kw) -> None:
    path = Path(os.environ.get("LOAD_RECORDS", "records.json"))
    with _lock:
        path.write_text(json.dumps(_records))
    Path(os.environ.get("LOAD_LAG", path.with_name("client_lag.json"))).write_text(json.dumps(_lag.stop()))
