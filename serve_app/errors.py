"""OpenAI-style errors for every failure a client can cause.

OpenAI clients parse ``{"error": {"message", "type", "param", "code"}}``. Ray Serve LLM
returns that shape for most engine-side validation errors, but with internal exception
names in the message, the exception class as ``type``, and FastAPI's ``{"detail": ...}``
for routing errors such as an unknown model. This middleware makes every error
response one clean shape; bad bodies are refused before any engine work by
serve_app.request_middleware.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

RETRY_AFTER_S = b"1"
#: Longest message of a 400 made from an exception's text (a serialization error
#: quotes the whole request's repr).
MAX_ERROR_CHARS = 300
# Where the parameter at fault is named: vLLM's "(parameter=x, value=...)", pydantic's
# "at ('body', 'x')", or a message that starts "x must ...".
_PARAM = re.compile(r"\(parameter=([A-Za-z_][A-Za-z0-9_.]*)")
_PARAM_AT = re.compile(r"at \('body', '([A-Za-z_][A-Za-z0-9_]*)'")
_PARAM_LEAD = re.compile(r"^([a-z_][a-z0-9_]*) (?:must|should|is|needs)\b")
# Noise for a client: internal exception class names, the "(parameter=..., value=...)"
# trailer (param carries it) and the request id (the x-request-id header carries it).
_CLASS_NAME = re.compile(r"(?:\b[A-Za-z_][\w]*\.)*\b[A-Z]\w*(?:Error|Exception)\s*:\s*")
_TRAILERS = re.compile(r"\s*\((?:parameter=[^)]*|Request ID: [^)]*)\)")


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
    """Drop Ray's internal exception trail and class names; keep what the client can act on."""
    message = message.split(", Internal exception:", 1)[0]
    message = message.split(", original exception:", 1)[0]
    message = _CLASS_NAME.sub("", message.removeprefix("Message: "))
    return _TRAILERS.sub("", message).strip()


def param_of(message: str) -> str | None:
    """The request parameter an error message names, if it names one."""
    for pattern in (_PARAM, _PARAM_AT, _PARAM_LEAD):
        match = pattern.search(message)
        if match:
            return match.group(1)
    return None


def reshape(status: int, payload: Any) -> dict[str, Any]:
    err = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(err, dict):
        raw = str(err.get("message") or "")
        param = err.get("param") if isinstance(err.get("param"), str) else None
    elif isinstance(payload, dict) and "detail" in payload:
        raw, param = str(payload["detail"]), None
    else:
        raw, param = HTTPStatus(status).phrase, None
    message = clean_message(raw)
    if not param and status < 500:
        param = param_of(message) or param_of(raw)
    code: int | str = status
    if status == 404 and "model" in raw:
        code = "model_not_found"
    return {"error": {"message": message or HTTPStatus(status).phrase, "type": error_type(status), "param": param, "code": code}}


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
