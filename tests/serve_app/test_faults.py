"""Faults on a live app: a killed engine, a rolling redeploy under load, SIGTERM with streams open.

Killing things would disturb the session's shared app, so this module starts its own
serve_app (one tiny-model engine) and ends it with its last test, the SIGTERM; the
fixture's teardown stops whatever is left. Every request is bounded by a timeout, so a
hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest
import yaml

from tests.support import serving
from tests.support.faults import ENGINE_CORE, Outcome, find_processes, post, record_figures, stream

FAULT_MODEL = "tiny-llama-faults"
COMPLETIONS = "/v1/completions"
LONG_STREAM = {"model": FAULT_MODEL, "prompt": "a long story", "max_tokens": 1500, "ignore_eos": True}
SHORT = {"model": FAULT_MODEL, "prompt": "hi", "max_tokens": 8, "ignore_eos": True}
LOAD_STREAM = {"model": FAULT_MODEL, "prompt": "steady load", "max_tokens": 64, "ignore_eos": True}
IN_FLIGHT = 4
# Non-streamed requests the engine holds when it dies: each is answered only at its end.
IN_FLIGHT_UNARY = 2
CLIENTS_AFTER_KILL = 3
SIGTERM_STREAM_TOKENS = 300
LOAD_WORKERS = 3
REQUEST_TIMEOUT_S = 240.0
RECOVERY_DEADLINE_S = 300.0
# With a surge rollout no request waits for an engine start (~60-80 s here).
REDEPLOY_MAX_LATENCY_S = 30.0


def fault_config() -> dict:
    config = serving.app_config(serving.model_dir())
    return {**config, "models": [{**config["models"][0], "id": FAULT_MODEL}]}


@pytest.fixture(scope="module")
def fault_app(tmp_path_factory: pytest.TempPathFactory):
    app = serving.start(tmp_path_factory.mktemp("faults"), fault_config())
    yield app
    serving.stop(app)


def client(app: serving.ServedApp) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {app.api_key}"}
    return httpx.AsyncClient(base_url=app.base_url, headers=headers, timeout=REQUEST_TIMEOUT_S, limits=httpx.Limits(max_connections=32))


def engine_pids(app: serving.ServedApp) -> set[int]:
    return {p.pid for p in find_processes(app.process.pid, ENGINE_CORE)}


async def open_streams(http: httpx.AsyncClient, n: int, body: dict) -> list[asyncio.Task[Outcome]]:
    """``n`` streams, returned once each has received tokens (so they are truly in flight)."""
    started = [asyncio.Event() for _ in range(n)]
    tasks = [asyncio.create_task(stream(http, COMPLETIONS, body, REQUEST_TIMEOUT_S, ev)) for ev in started]
    await asyncio.wait_for(asyncio.gather(*(ev.wait() for ev in started)), 120)
    return tasks


# --- SIGKILL of the engine core under streaming load -------------------------------


async def kill_engine_under_load(app: serving.ServedApp) -> dict:
    async with client(app) as http:
        unary = [asyncio.create_task(post(http, COMPLETIONS, LONG_STREAM, REQUEST_TIMEOUT_S)) for _ in range(IN_FLIGHT_UNARY)]
        in_flight = await open_streams(http, IN_FLIGHT, LONG_STREAM)
        (engine,) = find_processes(app.process.pid, ENGINE_CORE)
        engine.kill()
        killed = time.monotonic()
        later: list[Outcome] = []
        health: list[tuple[float, int, dict]] = []

        async def client_after_the_kill() -> None:
            # One request at a time, as each client that keeps using the model would.
            while time.monotonic() - killed < RECOVERY_DEADLINE_S:
                outcome = await stream(http, COMPLETIONS, SHORT, REQUEST_TIMEOUT_S)
                later.append(outcome)
                if outcome.ok:
                    return
                await asyncio.sleep(0.5)

        async def watch_health() -> None:
            while time.monotonic() - killed < RECOVERY_DEADLINE_S:
                r = await http.get("/health", timeout=30)
                health.append((time.monotonic() - killed, r.status_code, r.json()))
                if r.status_code == 200 and any(code == 503 for _, code, _ in health):
                    return
                await asyncio.sleep(1)

        await asyncio.gather(*(client_after_the_kill() for _ in range(CLIENTS_AFTER_KILL)), watch_health())
        outcomes = await asyncio.gather(*in_flight)
        unary_outcomes = await asyncio.gather(*unary)
    first_ok = min((o for o in later if o.ok), key=lambda o: o.started + o.elapsed, default=None)
    # A stream that ended before the kill was not in flight (on a busy machine the
    # others can start late enough for the first to finish).
    in_flight_at_kill = [o for o in outcomes if o.started + o.elapsed > killed]
    return {
        "killed_pid": engine.pid,
        "in_flight": in_flight_at_kill,
        "finished_before_kill": len(outcomes) - len(in_flight_at_kill),
        "unary_in_flight": [o for o in unary_outcomes if o.started + o.elapsed > killed],
        "later": later,
        "health": health,
        "first_success_s": (first_ok.started + first_ok.elapsed - killed) if first_ok else None,
    }


@pytest.fixture(scope="module")
def kill_run(fault_app) -> dict:
    run = asyncio.run(kill_engine_under_load(fault_app))
    down = [t for t, code, _ in run["health"] if code == 503]
    up = [t for t, code, _ in run["health"] if code == 200]
    record_figures(
        "engine_kill",
        {
            "in_flight_requests": len(run["in_flight"]),
            "in_flight_ended_with_clean_error": sum(o.clean_error for o in run["in_flight"]),
            "in_flight_hung": sum(o.exception == "hang (timeout)" for o in run["in_flight"]),
            "unary_in_flight_requests": len(run["unary_in_flight"]),
            "unary_in_flight_answered_by_the_replacement": sum(o.ok for o in run["unary_in_flight"]),
            "requests_after_kill": len(run["later"]),
            "requests_lost_after_kill": sum(not o.ok for o in run["later"]),
            "health_503_after_s": round(down[0], 1) if down else None,
            "health_200_again_after_s": round(up[-1], 1) if up else None,
            "first_success_after_s": round(run["first_success_s"], 1) if run["first_success_s"] else None,
        },
    )
    return run


def test_in_flight_streams_on_a_killed_engine_end_with_a_clean_error(kill_run):
    assert len(kill_run["in_flight"]) >= IN_FLIGHT // 2, f"{kill_run['finished_before_kill']} streams ended before the kill"
    for o in kill_run["in_flight"]:
        assert o.clean_error, o
        assert o.elapsed < REQUEST_TIMEOUT_S


def test_non_streamed_requests_the_dead_engine_held_are_answered_by_the_replacement(kill_run):
    """Nothing of them reached the client, so the ingress sends them again: a late 200, never a 500."""
    assert len(kill_run["unary_in_flight"]) == IN_FLIGHT_UNARY, "a non-streamed request ended before the kill"
    assert all(o.ok for o in kill_run["unary_in_flight"]), kill_run["unary_in_flight"]


def test_health_answers_503_naming_the_dead_model_then_200_after_replacement(kill_run):
    bodies = [body for _, code, body in kill_run["health"] if code == 503]
    assert bodies, kill_run["health"]
    error = bodies[0]["error"]
    assert FAULT_MODEL in error["message"]
    assert set(error) == {"message", "type", "param", "code"}
    assert kill_run["health"][-1][1] == 200, kill_run["health"][-3:]


def test_no_request_after_the_kill_is_lost(kill_run):
    lost = [o for o in kill_run["later"] if not o.ok]
    assert not lost, lost


def test_killed_engine_is_replaced_and_serves_again(fault_app, kill_run):
    assert kill_run["first_success_s"] is not None
    assert engine_pids(fault_app) and kill_run["killed_pid"] not in engine_pids(fault_app)


# --- Redeploy with a changed config under load --------------------------------------


async def redeploy_under_load(app: serving.ServedApp) -> dict:
    assert app.config_path is not None
    config = yaml.safe_load(app.config_path.read_text())
    config["models"][0]["engine"]["max_num_seqs"] = 32  # an engine argument: the replica must be replaced
    app.config_path.write_text(yaml.safe_dump(config))
    old_engines = engine_pids(app)
    outcomes: list[Outcome] = []
    stop = asyncio.Event()

    async with client(app) as http:

        async def worker() -> None:
            while not stop.is_set():
                outcomes.append(await stream(http, COMPLETIONS, LOAD_STREAM, REQUEST_TIMEOUT_S))

        workers = [asyncio.create_task(worker()) for _ in range(LOAD_WORKERS)]
        await asyncio.sleep(2)
        os.kill(app.process.pid, signal.SIGHUP)
        signalled = time.monotonic()
        while time.monotonic() - signalled < RECOVERY_DEADLINE_S:
            current = engine_pids(app)
            if current and not current & old_engines and "redeployed" in app.log_path.read_text():
                break
            await asyncio.sleep(1)
        replaced_after = time.monotonic() - signalled
        await asyncio.sleep(2)  # some requests on the new replica too
        stop.set()
        await asyncio.gather(*workers)
    return {"outcomes": outcomes, "replaced_after_s": replaced_after, "old": old_engines, "new": engine_pids(app)}


@pytest.fixture(scope="module")
def redeploy_run(fault_app, kill_run) -> dict:
    run = asyncio.run(redeploy_under_load(fault_app))
    outcomes = run["outcomes"]
    record_figures(
        "rolling_redeploy",
        {
            "requests": len(outcomes),
            "failed": sum(not o.ok for o in outcomes),
            "max_latency_s": round(max(o.elapsed for o in outcomes), 1),
            "replica_replaced_after_s": round(run["replaced_after_s"], 1),
        },
    )
    return run


def test_redeploy_with_changed_config_replaces_the_engine(redeploy_run):
    assert redeploy_run["new"] and not redeploy_run["new"] & redeploy_run["old"]


def test_redeploy_under_load_fails_no_request(redeploy_run):
    failed = [o for o in redeploy_run["outcomes"] if not o.ok]
    assert len(redeploy_run["outcomes"]) >= LOAD_WORKERS
    assert not failed, failed


def test_redeploy_under_load_never_waits_for_an_engine_start(redeploy_run):
    slowest = max(o.elapsed for o in redeploy_run["outcomes"])
    assert slowest < REDEPLOY_MAX_LATENCY_S, f"a request took {slowest:.1f}s: capacity dropped during the rollout"


# --- SIGTERM: graceful shutdown with streams open -----------------------------------


async def sigterm_with_streams_open(app: serving.ServedApp) -> list[Outcome]:
    async with client(app) as http:
        in_flight = await open_streams(http, IN_FLIGHT, {**LONG_STREAM, "max_tokens": SIGTERM_STREAM_TOKENS, "stream_options": {"include_usage": True}})
        os.kill(app.process.pid, signal.SIGTERM)
        return await asyncio.gather(*in_flight)


@pytest.fixture(scope="module")
def sigterm_run(fault_app, redeploy_run) -> list[Outcome]:
    outcomes = asyncio.run(sigterm_with_streams_open(fault_app))
    record_figures("sigterm", {"in_flight_streams": len(outcomes), "completed": sum(o.ok for o in outcomes)})
    return outcomes


def test_sigterm_lets_in_flight_streams_complete(sigterm_run):
    for o in sigterm_run:
        assert o.ok, o
        assert o.completion_tokens == SIGTERM_STREAM_TOKENS, o


def test_sigterm_stops_the_app(fault_app, sigterm_run):
    assert fault_app.process.wait(120) == 0
