"""The OpenAI-compatible ingress: Ray Serve LLM's OpenAiIngress plus what operators need.

Added on top of Ray's ingress:
- ``GET /health``: 200 only when every model's engine answers its health check, 503
  (with the failing models named) otherwise, so a readiness probe or load balancer
  sees engine health, not just a live HTTP proxy.
- API-key auth (serve_app.auth) when enabled.
- OpenAI-style errors everywhere (serve_app.errors): request-shape checks before any
  engine work is queued, and one error body shape for every 4xx/5xx.
- Backpressure: when a model's bounded queue (max_queued_requests) is full, the client
  gets a fast 503 with Retry-After instead of Ray's generic 500.

This module imports Ray's ingress internals (``init``) to keep Ray's own middleware
stack (request ids, error mapping, HTTP metrics); ray is pinned, and the serve tier
tests exercise every path here against the real stack.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncGenerator

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from ray.llm._internal.serve.core.configs.openai_api_models import OpenAIHTTPException
from ray.llm._internal.serve.core.ingress.ingress import DEFAULT_ENDPOINTS
from ray.llm._internal.serve.core.ingress.ingress import init as init_ray_app
from ray.serve.exceptions import BackPressureError
from ray.serve.llm.ingress import OpenAiIngress, make_fastapi_ingress

from .auth import APIKeyMiddleware, read_api_key
from .config import AuthConfig
from .errors import ErrorShapeMiddleware, RequestShapeMiddleware, http_exception_handler

HEALTH_TIMEOUT_S = 10.0


class ServeAppIngress(OpenAiIngress):
    """OpenAiIngress with an engine-aware health endpoint and startup auth checks."""

    def __init__(self, *args: Any, auth: dict[str, Any] | None = None, **kwargs: Any) -> None:
        auth_cfg = AuthConfig.model_validate(auth or {})
        if auth_cfg.enabled:
            read_api_key(auth_cfg.api_key_env)  # fail the replica now, not on first request
        super().__init__(*args, **kwargs)

    async def _get_response(self, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """Ray's response stream, with a full model queue answered as 503, not 500."""
        try:
            async for response in super()._get_response(**kwargs):
                yield response
        except BackPressureError as e:
            raise OpenAIHTTPException(
                status_code=503,
                message="The model is overloaded: its request queue is full. Retry after a short wait.",
                type="ServiceUnavailable",
                internal_message=str(e),
            ) from e

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


def make_app(auth: AuthConfig) -> FastAPI:
    """Ray's FastAPI app (request ids, error mapping, metrics) plus our middleware."""
    app = init_ray_app()
    app.add_exception_handler(HTTPException, http_exception_handler)
    app.add_middleware(RequestShapeMiddleware)
    app.add_middleware(ErrorShapeMiddleware)
    if auth.enabled:
        # Added last, so it runs first: unauthenticated requests cost nothing downstream.
        app.add_middleware(APIKeyMiddleware, env_var=auth.api_key_env)
    return app


def make_ingress_class(auth: AuthConfig) -> type:
    endpoints = {**DEFAULT_ENDPOINTS, "health": lambda app: app.get("/health")}
    return make_fastapi_ingress(ServeAppIngress, endpoint_map=endpoints, app=make_app(auth))
