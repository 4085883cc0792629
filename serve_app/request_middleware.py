"""The ASGI middleware that applies serve_app.request_checks in front of Ray's ingress.

A body is read once, up to the size limit, checked, and replayed to the app; a bad one
is answered here with an OpenAI error and never reaches Ray or an engine. When the app
answers a checked request with a 500, serve_app.request_models decides whether the
request model crashed on the body (then the client gets a 400) or the server failed.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from .config import RequestLimitsConfig
from .errors import error_body
from .request_checks import Problem, check_body, content_type_problem, declared_length, too_large
from .request_models import crash_problem

#: The JSON endpoints whose bodies are checked (Ray's ingress serves them all).
JSON_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/score", "/tokenize", "/detokenize")

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes ``limit`` bytes (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def refuse(send: Send, problem: Problem) -> None:
    """The OpenAI error for ``problem``; Serve's proxy adds the x-request-id header."""
    payload = error_body(problem.message, "invalid_request_error", problem.status, problem.param)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if problem.status == 413:
        # The unread rest of the body must not be taken for the next request.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class RequestCheckMiddleware:
    """Refuses bad JSON bodies on the OpenAI POST endpoints with an OpenAI error, before Ray."""

    def __init__(self, app: Any, limits: RequestLimitsConfig | None = None) -> None:
        self.app = app
        self.limits = limits or RequestLimitsConfig()

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in JSON_PATHS:
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        limit = self.limits.max_body_bytes
        problem = content_type_problem(headers)
        length = declared_length(headers)
        if not problem and length is not None and length > limit:
            problem = too_large(limit)
        body, data = b"", None
        if not problem:
            try:
                read = await read_body(receive, limit)
            except ConnectionAbortedError:
                return
            if read is None:
                problem = too_large(limit)
            else:
                body = read
                data, problem = check_body(body, self.limits)
        if problem:
            await refuse(send, problem)
            return
        await self.app(scope, replay(body, receive), crash_guard(send, scope["path"], data))


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then the client's own messages."""
    replayed = False

    async def receive_again() -> dict:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


def crash_guard(send: Send, path: str, data: dict[str, Any] | None) -> Send:
    """A send that turns a 500 into a 400 when the request model crashed on the body."""
    replaced = False

    async def guarded(message: dict) -> None:
        nonlocal replaced
        if replaced:
            return  # the 500's body, already answered with the 400
        if message["type"] == "http.response.start" and message["status"] == 500:
            problem = crash_problem(path, data)
            if problem:
                replaced = True
                await refuse(send, problem)
                return
        await send(message)

    return guarded
