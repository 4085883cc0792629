"""Engine health as the Serve controller sees it, for the ingress's ``/health``.

The controller health-checks every replica (serve_app.llm_configs sets the period),
stops the ones that fail and starts replacements; a model is healthy while at least
one of its replicas is RUNNING. During a rolling update the old replica runs until the
new one is up, so an update never reads as an outage.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ray import serve
from ray.serve.schema import ServeStatus


def replica_health(status: ServeStatus, app_name: str, deployment: str) -> str:
    app = status.applications.get(app_name)
    overview = app.deployments.get(deployment) if app else None
    if overview is None:
        return "unhealthy: not deployed"
    running = sum(n for state, n in overview.replica_states.items() if str(getattr(state, "value", state)) == "RUNNING")
    return "ok" if running else f"unhealthy: no running replica ({overview.status})"


async def model_health(app_name: str, deployments: dict[str, str]) -> dict[str, str]:
    """``{model_id: "ok" | "unhealthy: <why>"}`` for ``{model_id: deployment name}``."""
    status = await asyncio.to_thread(serve.status)
    return {model: replica_health(status, app_name, name) for model, name in deployments.items()}


def unhealthy_body(unhealthy: dict[str, str]) -> dict[str, Any]:
    """The OpenAI error object a 503 from /health carries, naming each unhealthy model."""
    names = ", ".join(f"{m} ({v.removeprefix('unhealthy: ')})" for m, v in sorted(unhealthy.items()))
    message = f"Unhealthy models: {names}. Serve replaces failed replicas; retry shortly."
    return {"error": {"message": message, "type": "overloaded_error", "param": None, "code": 503}}
