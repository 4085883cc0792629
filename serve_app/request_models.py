"""Tells a request the request model crashed on from a server fault, after a 500.

Ray Serve LLM validates bodies with vLLM's request models, whose ``mode="before"``
validators read fields before their types are checked: ``{"messages": true}`` raises
TypeError inside validation, which FastAPI does not turn into a 400, so the client got
a 500. Each such validator is a case of its own; the class is "the request model
raised something other than a validation error". So when the app answers a request
500, the body is validated again here: if the model itself crashes on it, the client's
input is at fault and the answer becomes a 400 naming the first top-level field whose
removal stops the crash. Requests answered otherwise never pay for this.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, ValidationError

from .request_checks import Problem


@functools.cache
def request_models() -> dict[str, tuple[type[BaseModel], ...]]:
    """The models Ray's ingress validates each JSON endpoint's body with (imported on first use)."""
    from ray.llm._internal.serve.core.configs import openai_api_models as m

    return {
        "/v1/chat/completions": (m.ChatCompletionRequest,),
        "/v1/completions": (m.CompletionRequest,),
        "/v1/embeddings": (m.EmbeddingCompletionRequest, m.EmbeddingChatRequest),
        "/v1/score": (m.ScoreRequest,),
        "/tokenize": (m.TokenizeCompletionRequest, m.TokenizeChatRequest),
        "/detokenize": (m.DetokenizeRequest,),
    }


def crashes(models: tuple[type[BaseModel], ...], data: dict[str, Any]) -> Exception | None:
    """What validating ``data`` raised that is not a validation error (models tried in order, as a union is)."""
    for model in models:
        try:
            model.model_validate(data)
            return None
        except ValidationError:
            continue
        except Exception as e:  # noqa: BLE001 - any other exception is the model crashing
            return e
    return None


def crash_problem(path: str, data: dict[str, Any] | None) -> Problem | None:
    """A 400 for a body the request model crashes on, or None if the 500 was not the body's fault."""
    models = request_models().get(path)
    if not models or not isinstance(data, dict):
        return None
    crash = crashes(models, data)
    if crash is None:
        return None
    culprit = next((key for key in data if crashes(models, {k: v for k, v in data.items() if k != key}) is None), None)
    where = f"'{culprit}' has a value of the wrong type or shape" if culprit else "the request has a value of the wrong type or shape"
    return Problem(400, f"Invalid request: {where} ({crash}).", culprit)
