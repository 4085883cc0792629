"""Overload: a full model queue answers 503 fast with Retry-After; the model keeps serving."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.support.serving import MODEL_B, MODEL_B_MAX_ONGOING, MODEL_B_MAX_QUEUED

BURST = 6 * (MODEL_B_MAX_ONGOING + MODEL_B_MAX_QUEUED)
LONG_REQUEST = {"model": MODEL_B, "prompt": "overload", "max_tokens": 200, "ignore_eos": True}
FAST_REJECT_S = 5.0


async def one(client: httpx.AsyncClient) -> tuple[int, float, httpx.Response]:
    start = time.monotonic()
    r = await client.post("/v1/completions", json=LONG_REQUEST)
    return r.status_code, time.monotonic() - start, r


async def burst(served_app) -> list[tuple[int, float, httpx.Response]]:
    headers = {"Authorization": f"Bearer {served_app.api_key}"}
    limits = httpx.Limits(max_connections=BURST)
    async with httpx.AsyncClient(base_url=served_app.base_url, headers=headers, timeout=300, limits=limits) as client:
        return await asyncio.gather(*(one(client) for _ in range(BURST)))


@pytest.fixture(scope="module")
def results(served_app):
    return asyncio.run(burst(served_app))


def test_burst_beyond_queue_gets_some_503s_and_no_500s(results):
    codes = [code for code, _, _ in results]
    assert set(codes) <= {200, 503}, codes
    assert codes.count(503) >= 1
    assert codes.count(200) >= MODEL_B_MAX_ONGOING


def test_503_is_fast_openai_shaped_and_says_when_to_retry(results):
    rejected = [(t, r) for code, t, r in results if code == 503]
    for elapsed, r in rejected:
        assert elapsed < FAST_REJECT_S, f"503 took {elapsed:.1f}s: overload should be answered at once"
        assert r.headers["retry-after"] == "1"
        error = r.json()["error"]
        assert error["type"] == "overloaded_error"
        assert "overloaded" in error["message"]


def test_model_serves_normally_after_the_burst(served_app):
    with served_app.client() as http:
        r = http.post("/v1/completions", json={**LONG_REQUEST, "max_tokens": 4})
    assert r.status_code == 200
    assert r.json()["usage"]["completion_tokens"] == 4
