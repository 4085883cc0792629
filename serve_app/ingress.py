"""The OpenAI-compatible ingress: Ray Serve LLM's OpenAiIngress plus what operators need.

Added on top of Ray's ingress:
- ``GET /health``: 200 only when every model has a running engine replica, 503 with an
  OpenAI-style error naming the models that have none, so a readiness probe or load
  balancer sees engine health, not just a live HTTP proxy.
- Requests whose replica died before producing output are retried (serve_app.server
  takes a replica with a dead engine out of service at once).
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
import logging
from typing import Any, AsyncGenerator

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from ray import serve
from ray.exceptions import ActorUnavailableError, RayActorError, RayError
from ray.llm._internal.serve.core.configs.openai_api_models import OpenAIHTTPException
from ray.llm._internal.serve.core.ingress.ingress import DEFAULT_ENDPOINTS
from ray.llm._internal.serve.core.ingress.ingress import init as init_ray_app
from ray.serve.exceptions import BackPressureError
from ray.serve.llm.ingress import OpenAiIngress, make_fastapi_ingress

from .auth import APIKeyMiddleware, read_api_key
from .config import AuthConfig, RequestLimitsConfig, TracingConfig
from .errors import MAX_ERROR_CHARS, ErrorShapeMiddleware, http_exception_handler
from .health import model_health, unhealthy_body
from .request_middleware import RequestCheckMiddleware
from .server import EngineDiedHoldingRequest, ReplicaLost
from .tracing import TracingMiddleware

log = logging.getLogger("serve_app")

# A lost replica is usually noticed by the router on the first retry, which then waits
# for a live replica; a few spaced retries cover the window in between.
REPLICA_LOST_RETRIES = 10
SUSPECT_LOSS_RETRIES = 2
REPLICA_LOST_BACKOFF_S = 0.5
NO_REPLICA_MESSAGE = "The model's replica was lost before it answered and no replacement took the request yet. Retry after a short wait."


def replica_lost(e: BaseException) -> str | None:
    """Why the request's replica was lost before it produced output, or None if it was not.

    "engine dead": the replica refused the request (ReplicaLost), always safe to resend.
    "engine died holding it": the engine died with the request inside
    (EngineDiedHoldingRequest). "actor died": the replica process died; usually it was
    already dead (the router had not heard yet). In both, the request may have been what
    killed it, so these get only SUSPECT_LOSS_RETRIES more tries: a poison request must
    not take down every replacement replica in turn.
    """
    cause = getattr(e, "cause", None)
    if isinstance(e, EngineDiedHoldingRequest) or isinstance(cause, EngineDiedHoldingRequest):
        return "engine died holding it"
    if isinstance(e, ReplicaLost) or isinstance(cause, ReplicaLost):
        return "engine dead"
    if isinstance(e, (RayActorError, ActorUnavailableError)):
        return "actor died"
    return None


def materialize_messages(body: Any) -> Any:
    """Lists for the lazy iterators pydantic leaves in a request's messages.

    Fields typed ``Iterable[...]`` (content, tool_calls) validate into iterators that
    cannot be pickled for the engine call. Ray materializes them for chat requests,
    and only ``tool_calls`` of assistant messages; the chat forms of embeddings and
    tokenize, and other roles, reached the engine call and failed there with a 500.
    """
    messages = getattr(body, "messages", None)
    if not isinstance(messages, list):
        return body
    for message in messages:
        if not isinstance(message, dict):
            continue
        for key, value in message.items():
            if value is None or isinstance(value, (str, bytes, list, dict)) or not hasattr(value, "__iter__"):
                continue
            try:
                message[key] = list(value)
            except (TypeError, ValueError) as e:
                text = f"messages: '{key}' must be a list of valid {key} items"
                raise OpenAIHTTPException(status_code=400, message=text, type="invalid_request_error", internal_message=str(e)) from e
    return body


class ServeAppIngress(OpenAiIngress):
    """OpenAiIngress with an engine-aware health endpoint, lost-replica retries and startup auth checks."""

    def __init__(self, *args: Any, auth: dict[str, Any] | None = None, **kwargs: Any) -> None:
        auth_cfg = AuthConfig.model_validate(auth or {})
        if auth_cfg.enabled:
            read_api_key(auth_cfg.api_key_env)  # fail the replica now, not on first request
        super().__init__(*args, **kwargs)

    async def _get_response(self, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """Ray's response stream, plus: a full queue is a 503, a lost replica is retried.

        A request whose replica died (or whose engine died, or was already dead) before
        it produced any output is sent again: the client has received nothing, and the
        router waits for a live or replacement replica. Past the retry budget the client
        gets a 503 with Retry-After, never a 500: the service is down for now, not
        broken by the request as far as anyone can tell. Once output has flowed, a
        failure reaches the client as before (an error event ends the stream). A
        ValueError or TypeError raised here before the request left the ingress is
        client input that Ray's request checks refused or that cannot be sent to
        the engine: a 400, not a 500.
        """
        if "body" in kwargs:
            kwargs["body"] = materialize_messages(kwargs["body"])
        suspect_losses = 0
        for attempt in range(REPLICA_LOST_RETRIES + 1):
            started = False
            try:
                async for response in super()._get_response(**kwargs):
                    started = True
                    yield response
                return
            except BackPressureError as e:
                raise OpenAIHTTPException(
                    status_code=503,
                    message="The model is overloaded: its request queue is full. Retry after a short wait.",
                    type="ServiceUnavailable",
                    internal_message=str(e),
                ) from e
            except (ValueError, TypeError) as e:
                if started or isinstance(e, RayError):
                    raise
                # Raised in this process before the request left it: Ray's request
                # sanitizer refusing client input (a malformed content part), or a
                # request that cannot be serialized to the engine.
                raise OpenAIHTTPException(status_code=400, message=str(e)[:MAX_ERROR_CHARS], type="invalid_request_error", internal_message=str(e)) from e
            except Exception as e:
                lost = replica_lost(e)
                if started:
                    # Output has reached the client. Raised, the error would end the
                    # response with no error event (Ray's router streams only what is
                    # yielded), and the client would take a cut answer for a whole one.
                    log.warning("stream failed after output (%s: %s); ending it with an error event", lost or "error", type(e).__name__)
                    yield [{"error": {"message": "The model's replica failed during this response; retry the request.", "type": "ServiceUnavailable", "code": 503}}]
                    return
                if not lost:
                    raise
                suspect_losses += lost != "engine dead"
                if attempt == REPLICA_LOST_RETRIES or suspect_losses > SUSPECT_LOSS_RETRIES:
                    log.warning("replica lost before any output (%s), %d times; answering 503", lost, attempt + 1)
                    raise OpenAIHTTPException(status_code=503, message=NO_REPLICA_MESSAGE, type="ServiceUnavailable", internal_message=str(e)) from e
                log.warning("replica lost before any output (%s: %s); retrying the request", lost, type(e).__name__)
            await asyncio.sleep(REPLICA_LOST_BACKOFF_S)

    async def health(self) -> JSONResponse:
        """200 when every model has a running replica; 503 naming the models that have none.

        Asks the Serve controller, which health-checks every replica and replaces
        failed ones, rather than calling the engines: a probe must not queue behind a
        full engine (and be refused with the overflow), and must answer fast while a
        replica is being replaced.
        """
        deployments = {m: h.deployment_name for m, h in self._default_serve_handles.items()}
        results = await model_health(serve.get_replica_context().app_name, deployments)
        unhealthy = {m: v for m, v in results.items() if v != "ok"}
        if not unhealthy:
            return JSONResponse({"status": "ok", "models": results})
        return JSONResponse(unhealthy_body(unhealthy), status_code=503)


def make_app(auth: AuthConfig, tracing: TracingConfig | None = None, limits: RequestLimitsConfig | None = None) -> FastAPI:
    """Ray's FastAPI app (request ids, error mapping, metrics) plus our middleware."""
    app = init_ray_app()
    app.add_exception_handler(HTTPException, http_exception_handler)
    app.add_middleware(RequestCheckMiddleware, limits=limits or RequestLimitsConfig())
    app.add_middleware(ErrorShapeMiddleware)
    if auth.enabled:
        # Added after the others, so it runs before them: unauthenticated requests
        # cost nothing downstream (not even reading their body).
        app.add_middleware(APIKeyMiddleware, env_var=auth.api_key_env)
    if tracing is not None and tracing.enabled:
        # Outermost, so the span covers everything, rejected requests included.
        app.add_middleware(
            TracingMiddleware, endpoint=tracing.otlp_endpoint, service_name=tracing.service_name, sample_ratio=tracing.sample_ratio
        )
    return app


def make_ingress_class(auth: AuthConfig, tracing: TracingConfig | None = None, limits: RequestLimitsConfig | None = None) -> type:
    endpoints = {**DEFAULT_ENDPOINTS, "health": lambda app: app.get("/health")}
    return make_fastapi_ingress(ServeAppIngress, endpoint_map=endpoints, app=make_app(auth, tracing, limits))
