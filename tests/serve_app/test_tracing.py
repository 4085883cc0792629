"""OpenTelemetry spans from the live app, received by an in-process OTLP/HTTP collector.

The shared app runs with `tracing.enabled` and `tracing.engine_spans` pointed at the
session's collector (tests/support/otlp.py decodes the real OTLP protobuf), so these
tests see exactly what a collector in the cluster would receive: serve_app's ingress
span per request and vLLM's own engine span.
"""

from __future__ import annotations

import json
import secrets
import time

import httpx

from tests.support.otlp import Span
from tests.support.serving import MODEL_A

SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER
EXPORT_TIMEOUT_S = 30  # the batch processors export every second; allow for a busy machine


def traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


def ingress_span(collector, trace_id: str) -> Span:
    return collector.collector.wait_for(
        f"serve_app's span of trace {trace_id}", lambda s: s.trace_id == trace_id and s.service == "serve-app", EXPORT_TIMEOUT_S
    )


def test_a_request_gets_a_server_span_in_the_callers_trace(served_app, otlp_collector):
    header, trace_id, parent_id = traceparent()
    with served_app.client() as c:
        r = c.post("/v1/chat/completions", json={"model": MODEL_A, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}, headers={"traceparent": header})
    assert r.status_code == 200, r.text

    span = ingress_span(otlp_collector, trace_id)

    assert (span.name, span.kind, span.parent_span_id) == ("POST /v1/chat/completions", SERVER_KIND, parent_id)
    a = span.attributes
    assert (a["gen_ai.request.model"], a["gen_ai.operation.name"], a["http.response.status_code"]) == (MODEL_A, "chat", 200)
    assert a["gen_ai.usage.input_tokens"] == r.json()["usage"]["prompt_tokens"]
    assert a["gen_ai.usage.output_tokens"] == r.json()["usage"]["completion_tokens"]
    assert a["serve_app.stream"] is False


def test_a_stream_span_records_time_to_first_token_and_usage(served_app, otlp_collector):
    header, trace_id, _ = traceparent()
    body = {"model": MODEL_A, "prompt": "count", "max_tokens": 12, "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True}}
    started = time.perf_counter()
    usage = None
    with served_app.client() as c, c.stream("POST", "/v1/completions", json=body, headers={"traceparent": header}) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: {"):
                usage = json.loads(line[6:]).get("usage") or usage
    elapsed = time.perf_counter() - started

    a = ingress_span(otlp_collector, trace_id).attributes

    assert a["serve_app.stream"] is True and a["gen_ai.operation.name"] == "text_completion"
    assert 0 < a["gen_ai.latency.time_to_first_token"] < elapsed
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (usage["prompt_tokens"], usage["completion_tokens"]) == (usage["prompt_tokens"], 12)


def test_a_rejected_request_is_traced_with_its_status(served_app, otlp_collector):
    header, trace_id, _ = traceparent()
    r = httpx.post(f"{served_app.base_url}/v1/completions", json={"model": MODEL_A, "prompt": "x"}, headers={"traceparent": header}, timeout=30)
    assert r.status_code == 401

    a = ingress_span(otlp_collector, trace_id).attributes

    assert (a["http.response.status_code"], a["error.type"]) == (401, "401")


def test_the_engine_exports_its_own_request_spans(served_app, otlp_collector):
    max_tokens = 9  # a count no other test asks for, to find this request's engine span
    with served_app.client() as c:
        r = c.post("/v1/completions", json={"model": MODEL_A, "prompt": "engine span", "max_tokens": max_tokens, "ignore_eos": True})
    assert r.status_code == 200, r.text
    prompt_tokens = r.json()["usage"]["prompt_tokens"]

    span = otlp_collector.collector.wait_for(
        "vLLM's span of the request",
        lambda s: s.attributes.get("gen_ai.usage.completion_tokens") == max_tokens and s.attributes.get("gen_ai.usage.prompt_tokens") == prompt_tokens,
        EXPORT_TIMEOUT_S,
    )

    assert span.service == "serve-app-engine"
    assert span.attributes["gen_ai.latency.time_to_first_token"] > 0
    assert span.attributes["gen_ai.latency.e2e"] >= span.attributes["gen_ai.latency.time_to_first_token"]
