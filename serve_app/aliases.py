"""Weighted model aliases: one name, several models (A/B versions, canaries).

A request whose `model` is an alias goes to one of the alias's targets, drawn by
weight, and is rewritten to name that model: the engine sees a model it serves and the
response tells the client which version answered. Names that are not aliases pass
through unchanged, so models stay reachable by their own ids.

The routing is a mixin over the ingress class (``with_aliases``), so the ingress module
stays as it is and an application without aliases runs exactly the ingress it had.
"""

from __future__ import annotations

import random
from typing import Any, AsyncGenerator, Iterable

from .config import AliasConfig


class AliasTable:
    """The aliases of an application, resolved by weighted draw."""

    def __init__(self, aliases: Iterable[AliasConfig], rng: random.Random | None = None) -> None:
        self._targets = {a.name: ([t.model for t in a.targets], [t.weight for t in a.targets]) for a in aliases}
        self._rng = rng or random.Random()

    @classmethod
    def from_dicts(cls, aliases: Iterable[dict[str, Any]], rng: random.Random | None = None) -> "AliasTable":
        return cls((AliasConfig.model_validate(a) for a in aliases), rng)

    def names(self) -> list[str]:
        return list(self._targets)

    def resolve(self, model: str | None) -> str | None:
        """The model to serve a request naming `model`: a weighted draw for an alias, else `model` itself."""
        if model not in self._targets:
            return model
        models, weights = self._targets[model]
        return self._rng.choices(models, weights=weights, k=1)[0]


class AliasRouting:
    """Ingress mixin: rewrite a request's alias to the drawn target before routing it.

    Takes the aliases as the `aliases` keyword of the ingress constructor (dicts, as
    AliasConfig dumps them), so they travel in the Serve deployment's init arguments.
    Goes in front of a class made by serve.ingress / make_fastapi_ingress, whose
    constructor is async.
    """

    async def __init__(self, *args: Any, aliases: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        # Serve's ingress wrapper initialises asynchronously (it requires async __init__ of subclasses).
        self._aliases = AliasTable.from_dicts(aliases or [])
        await super().__init__(*args, **kwargs)  # type: ignore[misc]

    async def _get_response(self, *, body: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        target = self._aliases.resolve(body.model)
        if target != body.model:
            body = body.model_copy(update={"model": target})
        async for response in super()._get_response(body=body, **kwargs):  # type: ignore[misc]
            yield response


def with_aliases(ingress_cls: type) -> type:
    """The ingress class with alias routing in front of its own request handling."""
    return type(ingress_cls.__name__, (AliasRouting, ingress_cls), {"__qualname__": ingress_cls.__qualname__})
