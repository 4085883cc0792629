"""OpenTelemetry request spans for the OpenAI endpoints, exported over OTLP/HTTP.

Off by default (``tracing.enabled``). When on, every ``/v1/*`` request gets one SERVER
span at the ingress, a child of the caller's W3C ``traceparent`` when it sends one,
carrying what an operator needs to find a slow request: the model, streaming or not,
the status, prompt and output token counts (from the response's ``usage``), and the
time to the first token for streams. The engine's own spans (vLLM's
``--otlp-traces-endpoint``) join the same collector when ``tracing.engine_spans`` is on.

The middleware reads the request body only up to a bound and looks at response chunks
only until it has what it needs, so tracing costs little on the token path. Spans go
through a BatchSpanProcessor on a provider of its own (never the process-global one,
which Ray may configure for itself).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .auth import ASGIApp, Scope

#: Request bodies larger than this are not parsed for span attributes (the request
#: itself is untouched; only the model/stream attributes are then missing).
MAX_PARSED_BODY = 1 << 20
OPERATIONS = {"/v1/chat/completions": "chat", "/v1/completions": "text_completion"}
_PROPAGATOR = TraceContextTextMapPropagator()


def make_tracer(endpoint: str, service_name: str, sample_ratio: float) -> trace.Tracer:
    """A tracer exporting to ``endpoint`` (the collector's OTLP/HTTP traces URL)."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint), schedule_delay_millis=1000))
    return provider.get_tracer("serve_app")


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _has_token(chunk: bytes) -> bool:
    """Whether an SSE chunk carries generated text (not just a role or an empty delta)."""
    for line in chunk.split(b"\n"):
        if not line.startswith(b"data: {"):
            continue
        try:
            data = json.loads(line[6:])
        except ValueError:
            continue
        for choice in data.get("choices") or []:
            if choice.get("text") or (choice.get("delta") or {}).get("content"):
                return True
    return False


def _usage(chunk: bytes) -> dict[str, Any] | None:
    """The ``usage`` object of a JSON body or of the SSE event that carries one."""
    for line in chunk.split(b"\n"):
        payload = line[6:] if line.startswith(b"data: {") else line if line.startswith(b"{") else None
        if payload is None or b'"usage"' not in payload:
            continue
        try:
            usage = json.loads(payload).get("usage")
        except ValueError:
            continue
        if usage:
            return usage
    return None


class TracingMiddleware:
    """One SERVER span per OpenAI request, with model, tokens and time to first token.

    Starlette builds its middleware in the process that serves (the ingress replica),
    so the exporter and its background thread are created there, not in the process
    that built the application.
    """

    def __init__(self, app: ASGIApp, endpoint: str, service_name: str, sample_ratio: float) -> None:
        self.app = app
        self.tracer = make_tracer(endpoint, service_name, sample_ratio)

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope.get("method", "GET")
        parent = _PROPAGATOR.extract(_headers(scope))
        span = self.tracer.start_span(f"{method} {path}", context=parent, kind=SpanKind.SERVER)
        span.set_attribute("http.request.method", method)
        span.set_attribute("url.path", path)
        if path in OPERATIONS:
            span.set_attribute("gen_ai.operation.name", OPERATIONS[path])
        started = time.perf_counter()
        body = bytearray()
        state: dict[str, Any] = {"stream": False, "first_token": None, "usage": None, "status": None}

        async def traced_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request" and len(body) <= MAX_PARSED_BODY:
                body.extend(message.get("body", b""))
                if not message.get("more_body") and len(body) <= MAX_PARSED_BODY:
                    self._request_attributes(span, bytes(body), state)
            return message

        async def traced_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if state["stream"] and state["first_token"] is None and _has_token(chunk):
                    state["first_token"] = time.perf_counter()
                if state["usage"] is None and b'"usage"' in chunk:
                    state["usage"] = _usage(chunk)
            await send(message)

        try:
            await self.app(scope, traced_receive, traced_send)
        except BaseException as e:
            span.record_exception(e)
            span.set_status(Status(StatusCode.ERROR, type(e).__name__))
            raise
        finally:
            self._response_attributes(span, state, started)
            span.end()

    @staticmethod
    def _request_attributes(span: trace.Span, raw: bytes, state: dict[str, Any]) -> None:
        try:
            request = json.loads(raw)
        except (ValueError, RecursionError):  # a body nested past the parser's depth
            return
        if not isinstance(request, dict):
            return
        if isinstance(request.get("model"), str):
            span.set_attribute("gen_ai.request.model", request["model"])
        state["stream"] = request.get("stream") is True
        span.set_attribute("serve_app.stream", state["stream"])
        if isinstance(request.get("max_tokens"), int):
            span.set_attribute("gen_ai.request.max_tokens", request["max_tokens"])

    @staticmethod
    def _response_attributes(span: trace.Span, state: dict[str, Any], started: float) -> None:
        if state["status"] is not None:
            span.set_attribute("http.response.status_code", state["status"])
            if state["status"] >= 500:
                span.set_status(Status(StatusCode.ERROR))
            if state["status"] >= 400:
                span.set_attribute("error.type", str(state["status"]))
        usage = state["usage"] or {}
        if isinstance(usage.get("prompt_tokens"), int):
            span.set_attribute("gen_ai.usage.input_tokens", usage["prompt_tokens"])
        if isinstance(usage.get("completion_tokens"), int):
            span.set_attribute("gen_ai.usage.output_tokens", usage["completion_tokens"])
        if state["first_token"] is not None:
            span.set_attribute("gen_ai.latency.time_to_first_token", state["first_token"] - started)
