"""A/B versions of a model: `httpRoute.splits` sends one route name to several models
by Gateway API backendRef weights, every version answers to the split's name, and
promotion or rollback is a change of weights."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import chart_checks, helm

CHART = "vllm-standalone"
PRESET = helm.PRESETS / CHART / "ab-llama-8b-versions.yaml"
V1, V2 = "test-vllm-standalone-llama-v1", "test-vllm-standalone-llama-v2"
VERSIONS = [
    {"name": "v1", "model": "org/m", "engine": {"servedModelName": ["v1", "m"]}},
    {"name": "v2", "model": "org/m2", "engine": {"servedModelName": ["v2", "m"]}},
]
ROUTE = {"enabled": True, "parentRefs": [{"name": "gw"}]}


def split(*weights: int, name: str = "m") -> list[dict[str, Any]]:
    return [{"name": name, "backends": [{"model": f"v{i + 1}", "weight": w} for i, w in enumerate(weights)]}]


def rules(rendered: helm.Rendered) -> list[dict[str, Any]]:
    return rendered.one("HTTPRoute")["spec"]["rules"]


def weighted(rule: dict[str, Any]) -> dict[str, int]:
    return {ref["name"]: ref["weight"] for ref in rule["backendRefs"]}


def split_rule(rendered: helm.Rendered, value: str) -> dict[str, Any]:
    (rule,) = [r for r in rules(rendered) if r.get("matches") and value in str(r["matches"])]
    return rule


def test_preset_splits_the_shared_name_90_10_between_the_versions() -> None:
    rendered = helm.template(CHART, [PRESET])
    rule = split_rule(rendered, "/llama-8b")
    assert weighted(rule) == {V1: 90, V2: 10}
    assert rule["filters"][0]["urlRewrite"]["path"]["replacePrefixMatch"] == "/"
    catch_all = rules(rendered)[-1]
    assert "matches" not in catch_all and weighted(catch_all) == {V1: 90, V2: 10}


def test_every_version_answers_to_the_split_name() -> None:
    rendered = helm.template(CHART, [PRESET])
    for name in (V1, V2):
        args = rendered.one("Deployment", name)["spec"]["template"]["spec"]["containers"][0]["args"]
        served = args[args.index("--served-model-name") + 1 : args.index("--served-model-name") + 3]
        assert "llama-8b" in served


def test_each_version_keeps_its_own_route() -> None:
    rendered = helm.template(CHART, [PRESET])
    assert [ref["name"] for ref in split_rule(rendered, "/llama-v2")["backendRefs"]] == [V2]


@pytest.mark.parametrize(("weights", "expected"), [((50, 50), {50}), ((0, 100), {0, 100})], ids=["half-way", "promoted"])
def test_promotion_is_a_change_of_weights(weights: tuple[int, int], expected: set[int]) -> None:
    values = {"models": VERSIONS, "httpRoute": {**ROUTE, "splits": split(*weights)}}
    assert set(weighted(split_rule(helm.template(CHART, set_json=values), "/m")).values()) == expected
    chart_checks.assert_kubeconform_strict(helm.template_text(CHART, set_json=values))


def test_header_routing_matches_the_split_name() -> None:
    rendered = helm.template(CHART, set_json={"models": VERSIONS, "httpRoute": {**ROUTE, "routing": "header", "splits": split(3, 1)}})
    rule = split_rule(rendered, "'value': 'm'")
    assert rule["matches"] == [{"headers": [{"type": "Exact", "name": "X-Model", "value": "m"}]}]
    assert sorted(weighted(rule).values()) == [1, 3]


BAD = [
    chart_checks.bad_values_case("backend-is-not-a-model", {"httpRoute": {**ROUTE, "splits": [{"name": "m", "backends": [{"model": "v3", "weight": 1}]}]}}, "httpRoute.splits[0].backends[0].model", '"v3"'),
    chart_checks.bad_values_case("backend-does-not-serve-the-name", {"httpRoute": {**ROUTE, "splits": split(1, 1, name="other")}}, "httpRoute.splits[0].backends[0].model", 'must serve "other"'),
    chart_checks.bad_values_case("split-named-like-a-model", {"httpRoute": {**ROUTE, "splits": split(1, 1, name="v1")}}, "httpRoute.splits[0].name", '"v1"'),
    chart_checks.bad_values_case("weights-sum-to-zero", {"httpRoute": {**ROUTE, "splits": split(0, 0)}}, "httpRoute.splits[0].backends: the weights sum to 0"),
    chart_checks.bad_values_case("splits-without-the-route", {"httpRoute": {"splits": split(1, 1)}}, "httpRoute.splits: needs httpRoute.enabled"),
    chart_checks.bad_values_case("negative-weight", {"httpRoute": {**ROUTE, "splits": split(-1, 1)}}, "/httpRoute/splits/0/backends/0/weight"),
    chart_checks.bad_values_case("split-without-backends", {"httpRoute": {**ROUTE, "splits": [{"name": "m", "backends": []}]}}, "/httpRoute/splits/0/backends"),
    chart_checks.bad_values_case("default-model-unknown", {"httpRoute": {**ROUTE, "splits": split(1, 1), "defaultModel": "nope"}}, "httpRoute.defaultModel", "models or httpRoute.splits"),
]


@pytest.mark.parametrize(("set_json", "expected"), BAD)
def test_bad_split_values_are_refused_naming_the_field(set_json: dict[str, Any], expected: tuple[str, ...]) -> None:
    chart_checks.assert_rejected(CHART, {"models": VERSIONS, **set_json}, expected)
