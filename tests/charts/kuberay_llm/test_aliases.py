"""Weighted model aliases in kuberay-llm: `aliases` reaches serve_app's AppConfig as is,
and aliases that name no served model, shadow a model id or weigh nothing are refused
at render time naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from serve_app.config import AppConfig

from .chart import PRESET_DIR, app_args, render, render_error

PRESET = PRESET_DIR / "ab-llama-8b-versions.yaml"
MODELS = [{"id": "v1"}, {"id": "v2"}]
GROUP = [{"groupName": "gpu", "gpus": 1, "minReplicas": 2, "replicas": 2, "maxReplicas": 2}]


def alias(*weights: int, name: str = "llm", models: tuple[str, ...] = ("v1", "v2")) -> list[dict[str, Any]]:
    return [{"name": name, "targets": [{"model": m, "weight": w} for m, w in zip(models, weights)]}]


def test_preset_aliases_two_versions_90_10() -> None:
    app = AppConfig.model_validate(app_args(render([PRESET])))
    (llama,) = app.aliases
    assert llama.name == "llama-8b"
    assert {t.model: t.weight for t in llama.targets} == {"llama-v1": 90, "llama-v2": 10}
    assert {t.model for t in llama.targets} == {m.id for m in app.models}


def test_no_aliases_leave_the_app_config_without_them() -> None:
    assert "aliases" not in app_args(render())


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        pytest.param(alias(1, 1, name="v1"), 'aliases[0].name: "v1" is already a model id', id="alias-is-a-model-id"),
        pytest.param(alias(1, models=("v3",)), 'aliases[0].targets[0].model: "v3" is not the id of a model (v1, v2)', id="unknown-target"),
        pytest.param(alias(0, 0), "aliases[0].targets: the weights sum to 0", id="zero-weights"),
        pytest.param(alias(1, 1, models=("v1", "v1")), 'aliases[0].targets[1].model: "v1" is listed twice', id="duplicate-target"),
        pytest.param([*alias(1, 1), *alias(1, 1)], 'aliases[1].name: "llm" is already a model id or an earlier alias', id="duplicate-alias"),
        pytest.param(alias(-1, 1), "/aliases/0/targets/0/weight", id="negative-weight"),
        pytest.param([{"name": "llm", "targets": [{"model": "v1", "weight": 1, "share": 1}]}], "/aliases/0/targets/0", id="unknown-key"),
    ],
)
def test_bad_aliases_are_refused_naming_the_field(aliases: list[dict[str, Any]], expected: str) -> None:
    assert expected in render_error(set_json={"models": MODELS, "workerGroups": GROUP, "aliases": aliases})
