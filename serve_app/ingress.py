"""The OpenAI-compatible ingress: Ray Serve LLM's OpenAiIngress plus what operators need.

Added on top of Ray's ingress:
- ``GET /health``: 200 only when every model's engine answers its health check, 503
  (with the failing models named) otherwise, so a readiness probe or load balancer
  sees engine health, not just a live HTTP proxy.
- API-key auth (serve_app.auth) when enabled.
- Request-shape checks that Ray passes through to the engine: a malformed body, a
  non-object body or a wrong content type get an OpenAI-style 400 before any engine
  work is queued.

This module imports Ray's ingress internals (``init``) to keep Ray's own middleware
stack (request ids, error mapping, HTTP metrics); ray is pinned, and the serve tier
tests exercise every path here against the real stack.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import FastAPI
from starlette.responses import JSONResponse

from ray.llm._internal.serve.core.ingress.ingress import DEFAULT_ENDPOINTS
from ray.llm._internal.serve.core.ingress.ingress import init as init_ray_app
from ray.serve.llm.ingress import OpenAiIngress, make_fastapi_ingress

from .auth import APIKeyMiddleware, error_body, read_api_key
from .config import AuthConfig

HEALTH_TIMEOUT_S = 10.0
JSON_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")


class ServeAppIngress(OpenAiIngress):
    """OpenAiIngress with an engine-aware health endpoint and startup auth checks."""

    def __init__(self, *args: Any, auth: dict[str, Any] | None = None, **kwargs: Any) -> None:
        auth_cfg = AuthConfig.model_validate(auth or {})
        if auth_cfg.enabled:
            read_api_key(auth_cfg.api_key_env)  # fail the replica now, not on first request
        super().__init__(*args, **kwargs)

    async def health(self) -> JSONResponse:
        async def probe(model_id: str) -> tuple[str, str]:
            handle = self._default_serve_handles[model_id]
            try:
                await asyncio.wait_for(handle.options(stream=False).check_health.remote(), HEALTH_TIMEOUT_S)
                return model_id, "ok"
            except Exception as e:  # any failure, including timeout, means unhealthy
                return model_id, f"unhealthy: {type(e).__name__}"

        results = dict(await asyncio.gather(*(probe(m) for m in self._default_serve_handles)))
        healthy = all(v == "ok" for v in results.values())
        return JSONResponse({"status": "ok" if healthy else "unhealthy", "models": results}, status_code=200 if healthy else 503)


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
        problem = _body_problem(scope, body)
        if problem:
            payload = error_body(problem, "invalid_request_error", 400)
            await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
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


def _body_problem(scope: dict, body: bytes) -> str | None:
    content_type = b""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            content_type = value.split(b";")[0].strip().lower()
    if content_type and content_type != b"application/json":
        return f"Unsupported content type '{content_type.decode(errors='replace')}': send application/json."
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        return "Request body is not valid UTF-8."
    except json.JSONDecodeError as e:
        return f"Request body is not valid JSON: {e.msg} at position {e.pos}."
    if not isinstance(data, dict):
        return "Request body must be a JSON object."
    return None


def make_app(auth: AuthConfig) -> FastAPI:
    """Ray's FastAPI app (request ids, error mapping, metrics) plus our middleware."""
    app = init_ray_app()
    app.add_middleware(RequestShapeMiddleware)
    if auth.enabled:
        # Added last, so it runs first: unauthenticated requests cost nothing downstream.
        app.add_middleware(APIKeyMiddleware, env_var=auth.api_key_env)
    return app


def make_ingress_class(auth: AuthConfig) -> type:
    endpoints = {**DEFAULT_ENDPOINTS, "health": lambda app: app.get("/health")}
    return make_fastapi_ingress(ServeAppIngress, endpoint_map=endpoints, app=make_app(auth))
