"""Bearer-token auth for the OpenAI endpoints, as a plain ASGI middleware.

The key is read from an environment variable (fed by a Kubernetes Secret through
``secretKeyRef``), never from the config, so it appears in no ConfigMap, no
serveConfigV2 and no log line. Health and metrics paths stay open so probes and
Prometheus need no credentials.
"""

from __future__ import annotations

import hmac
import os
from typing import Any, Awaitable, Callable

from .errors import error_body

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

#: Paths reachable without a key: liveness/readiness and Serve's own routes.
OPEN_PATHS = ("/health", "/-/")


class MissingAPIKey(RuntimeError):
    pass


def read_api_key(env_var: str) -> str:
    """The configured key; refusing to start beats silently serving without auth."""
    key = os.environ.get(env_var, "").strip()
    if not key:
        raise MissingAPIKey(f"auth.enabled is true but the environment variable {env_var} is empty or unset")
    return key


class APIKeyMiddleware:
    """Rejects requests whose ``Authorization: Bearer`` token is not the key (401)."""

    def __init__(self, app: ASGIApp, env_var: str) -> None:
        self.app = app
        self.env_var = env_var
        self._key: bytes | None = None

    def _expected(self) -> bytes:
        if self._key is None:
            self._key = read_api_key(self.env_var).encode()
        return self._key

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        token = b""
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() != b"bearer":
                    token = b""
                break
        if token and hmac.compare_digest(token.strip(), self._expected()):
            await self.app(scope, receive, send)
            return
        message = "Incorrect API key provided." if token else "Missing API key: send 'Authorization: Bearer <key>'."
        body = error_body(message, "invalid_request_error", "invalid_api_key")
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
