"""Weighted model aliases (A/B versions): the config accepts only aliases that name
served models, the draw follows the weights, and the ingress mixin rewrites a request
naming an alias to the drawn model before Ray routes it.

The live path (Ray Serve running) is not started here; the mixin is exercised over a
stand-in base class (named as such) whose `_get_response` records what reaches it, with
Ray's real request model as the body."""

from __future__ import annotations

import asyncio
import random
import warnings
from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from serve_app.aliases import AliasRouting, AliasTable, with_aliases
from serve_app.config import AliasConfig, AppConfig

MODELS = [{"id": "v1", "accelerator": {"kind": "CPU"}}, {"id": "v2", "accelerator": {"kind": "CPU"}}]
NINETY_TEN = {"name": "llm", "targets": [{"model": "v1", "weight": 90}, {"model": "v2", "weight": 10}]}
DRAWS = 20_000


def table(*aliases: dict[str, Any], seed: int = 7) -> AliasTable:
    return AliasTable.from_dicts(aliases, random.Random(seed))


class StandInIngress:
    """Stand-in for Ray's ingress (which needs a running Serve): records the bodies it routes."""

    async def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.routed: list[Any] = []

    async def _get_response(self, *, body: Any, **kwargs: Any):
        self.routed.append(body)
        yield body.model


class AliasedStandIn(AliasRouting, StandInIngress):
    pass


def chat_request(model: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ray.llm._internal.serve.core.configs.openai_api_models import ChatCompletionRequest

    return ChatCompletionRequest(model=model, messages=[{"role": "user", "content": "hi"}])


async def answer(ingress: AliasedStandIn, model: str) -> str:
    return [r async for r in ingress._get_response(body=chat_request(model), call_method="chat")][0]


def test_draws_follow_the_weights() -> None:
    aliases = table(NINETY_TEN)
    counts = Counter(aliases.resolve("llm") for _ in range(DRAWS))
    assert set(counts) == {"v1", "v2"}
    assert 0.08 < counts["v2"] / DRAWS < 0.12


def test_weight_zero_drains_a_target() -> None:
    drained = {"name": "llm", "targets": [{"model": "v1", "weight": 0}, {"model": "v2", "weight": 1}]}
    aliases = table(drained)
    assert {aliases.resolve("llm") for _ in range(1000)} == {"v2"}


def test_names_that_are_not_aliases_pass_through() -> None:
    t = table(NINETY_TEN)
    assert (t.resolve("v1"), t.resolve("other"), t.resolve(None)) == ("v1", "other", None)


def test_ingress_rewrites_an_alias_to_the_drawn_model_and_leaves_ids_alone() -> None:
    async def run() -> tuple[list[str], list[str]]:
        ingress = AliasedStandIn.__new__(AliasedStandIn)
        await ingress.__init__(aliases=[NINETY_TEN])
        answered = [await answer(ingress, "llm") for _ in range(200)]
        direct = [await answer(ingress, "v2")]
        return answered, direct

    answered, direct = asyncio.run(run())
    assert set(answered) == {"v1", "v2"}
    assert direct == ["v2"]


def test_with_aliases_puts_the_routing_in_front_of_the_ingress() -> None:
    cls = with_aliases(StandInIngress)
    assert cls.__mro__[1] is AliasRouting and cls.__name__ == "StandInIngress"


def test_app_config_accepts_aliases_of_served_models() -> None:
    app = AppConfig.model_validate({"models": MODELS, "aliases": [NINETY_TEN]})
    assert app.aliases[0] == AliasConfig.model_validate(NINETY_TEN)


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        pytest.param({"name": "v1", "targets": [{"model": "v2", "weight": 1}]}, "aliases[0].name 'v1' is already a model id", id="alias-is-a-model-id"),
        pytest.param({"name": "llm", "targets": [{"model": "v3", "weight": 1}]}, "aliases[0].targets[0].model 'v3' is not the id of a model", id="unknown-target"),
        pytest.param({"name": "llm", "targets": [{"model": "v1", "weight": 0}]}, "weights sum to 0", id="zero-weights"),
        pytest.param({"name": "llm", "targets": [{"model": "v1", "weight": 1}, {"model": "v1", "weight": 2}]}, "targets list a model twice", id="duplicate-target"),
        pytest.param({"name": "llm", "targets": [{"model": "v1", "weight": -1}]}, "weight", id="negative-weight"),
        pytest.param({"name": "llm", "targets": []}, "targets", id="no-targets"),
    ],
)
def test_bad_aliases_are_refused_naming_the_field(alias: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        AppConfig.model_validate({"models": MODELS, "aliases": [alias]})
    assert expected in str(info.value)


def test_real_ingress_class_accepts_the_alias_routing() -> None:
    """Serve requires an async __init__ of subclasses of its ingress classes; building the class checks it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from serve_app.config import AuthConfig
        from serve_app.ingress import ServeAppIngress, make_ingress_class

    cls = with_aliases(make_ingress_class(AuthConfig()))
    assert issubclass(cls, AliasRouting) and issubclass(cls, ServeAppIngress)
