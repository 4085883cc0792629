"""The OpenAI API as the official `openai` client sees it, against real vLLM on CPU."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.support.serving import MODEL_A, MODEL_B

PROMPT = "Tell me a story about a scheduler."
MAX_TOKENS = 12
# The tiny model emits EOS at random; ignore it so token counts are exact.
EXACT = {"ignore_eos": True}


@pytest.fixture(scope="module")
def client(served_app) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served_app.base_url}/v1", api_key=served_app.api_key, max_retries=0, timeout=120)


def test_lists_every_configured_model(client, served_app):
    ids = sorted(m.id for m in client.models.list().data)
    assert ids == sorted(served_app.models)


def test_chat_completion_returns_text_and_exact_usage(client):
    r = client.chat.completions.create(
        model=MODEL_A, messages=[{"role": "user", "content": PROMPT}], max_tokens=MAX_TOKENS, extra_body=EXACT
    )
    assert r.object == "chat.completion"
    assert r.model == MODEL_A
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content
    assert r.usage.completion_tokens == MAX_TOKENS
    assert r.usage.prompt_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_completion_returns_text_and_exact_usage(client):
    r = client.completions.create(model=MODEL_A, prompt=PROMPT, max_tokens=MAX_TOKENS, extra_body=EXACT)
    assert r.object == "text_completion"
    assert r.choices[0].text
    assert r.usage.completion_tokens == MAX_TOKENS
    assert r.usage.prompt_tokens > 0


def test_requests_are_routed_by_the_model_field(client):
    for model in (MODEL_A, MODEL_B):
        r = client.completions.create(model=model, prompt=PROMPT, max_tokens=2, extra_body=EXACT)
        assert r.model == model


def test_chat_stream_arrives_incrementally_and_reports_usage(client):
    arrivals: list[float] = []
    text = []
    usage = None
    stream = client.chat.completions.create(
        model=MODEL_B,
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=32,
        stream=True,
        stream_options={"include_usage": True},
        extra_body=EXACT,
    )
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                arrivals.append(time.monotonic())
                text.append(choice.delta.content)
    assert len(arrivals) >= 8, "tokens should arrive as separate chunks, not one block"
    assert arrivals[-1] > arrivals[0], "chunks all arrived at once"
    assert usage is not None and usage.completion_tokens == 32
    assert "".join(text)


def test_completion_stream_ends_with_done_sentinel(served_app):
    body = {"model": MODEL_A, "prompt": PROMPT, "max_tokens": 8, "stream": True, **EXACT}
    with served_app.client() as http, http.stream("POST", "/v1/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert len(events) >= 3


def test_health_reports_every_engine_ok(served_app):
    r = httpx.get(f"{served_app.base_url}/health", timeout=30)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "models": {m: "ok" for m in served_app.models}}
