"""OpenAI-style errors for every failure a client can cause.

OpenAI clients parse ``{"error": {"message", "type", "param", "code"}}``. Ray Serve LLM
returns that shape for most engine-side validation errors, but with internal exception
names in the message, the exception class as ``type``, and FastAPI's ``{"detail": ...}``
for routing errors such as an unknown model. These ASGI middlewares make every error
response one clean shape, and reject bodies that are not a JSON object before any
engine work is queued.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

JSON_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
RETRY_AFTER_S = b"1"
_PARAM = re.compile(r"\(parameter=([A-Za-z_][A-Za-z0-9_.]*)")


def error_body(message: str, type_: str, code: int | str, param: str | None = None) -> bytes:
    """An OpenAI-style error object, the shape every OpenAI client parses."""
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}}).encode()


def error_type(status: int) -> str:
    if status == 429:
        return "rate_limit_error"
    if status == 503:
        return "overloaded_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def clean_message(message: str) -> str:
    """Drop Ray's internal exception trail; keep what the client can act on."""
    message = message.split(", Internal exception:", 1)[0]
    message = message.split(", original exception:", 1)[0]
    return message.removeprefix("Message: ").strip()


def reshape(status: int, payload: Any) -> dict[str, Any]:
    err = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(err, dict):
        raw = str(err.get("message") or "")
        param = err.get("param") if isinstance(err.get("param"), str) else None
    elif isinstance(payload, dict) and "detail" in payload:
        raw, param = str(payload["detail"]), None
    else:
        raw, param = HTTPStatus(status).phrase, None
    match = _PARAM.search(raw)
    if match and not param:
        param = match.group(1)
    code: int | str = status
    if status == 404 and "model" in raw:
        code = "model_not_found"
    return {"error": {"message": clean_message(raw) or HTTPStatus(status).phrase, "type": error_type(status), "param": param, "code": code}}


async def http_exception_handler(request: Request, exc: Any) -> JSONResponse:
    """FastAPI HTTPException (unknown model, unknown route) in the OpenAI shape."""
    status = getattr(exc, "status_code", 500)
    return JSONResponse(reshape(status, {"detail": getattr(exc, "detail", "")}), status_code=status)


class ErrorShapeMiddleware:
    """Rewrites non-streaming JSON error responses (status >= 400) into the OpenAI shape."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        chunks: list[bytes] = []

        async def capture(message: dict) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                is_json = headers.get(b"content-type", b"").startswith(b"application/json")
                if message["status"] >= 400 and is_json:
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                status = start["status"]
                try:
                    payload = json.loads(b"".join(chunks))
                except ValueError:
                    payload = None
                body = json.dumps(reshape(status, payload)).encode()
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                if status in (429, 503):
                    headers.append((b"retry-after", RETRY_AFTER_S))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, capture)


class RequestShapeMiddleware:
    """400 for bodies that are not a JSON object, before they reach Ray or the engine."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in JSON_PATHS:
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = body_problem(scope, body)
        if problem:
            payload = error_body(problem, "invalid_request_error", 400)
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return

        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class NonStandardNumber(ValueError):
    """NaN/Infinity: Python's json accepts them, JSON does not, and a NaN sampling
    parameter passes every range check (all comparisons with NaN are false)."""


def _reject_constant(name: str) -> Any:
    raise NonStandardNumber(name)


def body_problem(scope: dict, body: bytes) -> str | None:
    content_type = b""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            content_type = value.split(b";")[0].strip().lower()
    if content_type and content_type != b"application/json":
        return f"Unsupported content type '{content_type.decode(errors='replace')}': send application/json."
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        return "Request body is not valid UTF-8."
    except json.JSONDecodeError as e:
        return f"Request body is not valid JSON: {e.msg} at position {e.pos}."
    except NonStandardNumber as e:
        return f"Request body is not valid JSON: {e} is not a JSON number."
    if not isinstance(data, dict):
        return "Request body must be a JSON object."
    if scope.get("path") == "/v1/chat/completions":
        return messages_problem(data.get("messages"))
    return None


def messages_problem(messages: Any) -> str | None:
    """vLLM's chat renderer indexes ``message["role"]`` unchecked: a message without one is a 500 there."""
    if not isinstance(messages, list):
        return None  # the request model rejects it with a 400 naming the field
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return f"messages[{i}] must be an object with a 'role' string."
    return None
