"""Prefill/decode disaggregation: `prefillDecode` turns the application into Ray Serve
LLM's P/D graph, built by serve_app from the same model translation; the args it hands
Ray validate against Ray's own PDServingArgs, and what P/D cannot do (several models,
CPU, aliases, auth) is refused at render time."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import yaml

from serve_app.config import AppConfig
from serve_app.pd import pd_serving_args

from .chart import CPU_SCENARIO, PRESET_DIR, app_args, rayservice, render, render_error

PRESET = PRESET_DIR / "llama-3.1-8b-prefill-decode.yaml"
GROUP = [{"groupName": "gpu", "gpus": 2, "replicas": 2, "minReplicas": 2, "maxReplicas": 2}]


@pytest.fixture(scope="module")
def pd_serving_args_model():
    """Ray Serve LLM's PDServingArgs (imports Ray and the engine: seconds, once)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ray.llm._internal.serve.serving_patterns.prefill_decode.builder import PDServingArgs

    return PDServingArgs


def application(rendered) -> dict[str, Any]:
    return yaml.safe_load(rayservice(rendered)["spec"]["serveConfigV2"])["applications"][0]


def test_preset_runs_serve_apps_pd_builder() -> None:
    app = application(render([PRESET]))
    assert app["import_path"] == "serve_app:build_pd_app"
    assert application(render())["import_path"] == "serve_app:build_app"


def test_preset_args_validate_as_rays_pd_serving_args(pd_serving_args_model) -> None:
    config = AppConfig.model_validate(app_args(render([PRESET])))
    pd = pd_serving_args_model.model_validate(pd_serving_args(config))
    assert pd.prefill_config.model_id == pd.decode_config.model_id == "llama-3.1-8b-instruct"
    for side in (pd.prefill_config, pd.decode_config):
        assert side.engine_kwargs["kv_transfer_config"] == {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
        assert side.engine_kwargs["max_model_len"] == 32768
        assert side.accelerator_type == "H100"
    assert pd.prefill_config.deployment_config["autoscaling_config"]["target_ongoing_requests"] == 8
    assert pd.decode_config.deployment_config["autoscaling_config"]["target_ongoing_requests"] == 64


def test_a_side_may_use_its_own_tensor_parallelism(pd_serving_args_model) -> None:
    values = {"workerGroups": GROUP, "prefillDecode": {"decode": {"tensorParallelSize": 2}}}
    pd = pd_serving_args_model.model_validate(pd_serving_args(AppConfig.model_validate(app_args(render(set_json=values)))))
    assert pd.prefill_config.engine_kwargs["tensor_parallel_size"] == 1
    assert pd.decode_config.engine_kwargs["tensor_parallel_size"] == 2
    assert len(pd.decode_config.placement_group_config["bundles"]) == 2


def test_both_sides_count_against_the_gpus() -> None:
    values = {"prefillDecode": {"prefill": {"autoscaling": {"maxReplicas": 2}}}}
    assert "need up to 3 GPUs" in render_error(set_json=values)


@pytest.mark.parametrize(
    ("set_json", "expected", "base"),
    [
        pytest.param({"models": [{"id": "a"}, {"id": "b"}], "workerGroups": GROUP, "prefillDecode": {}}, "prefillDecode: serves exactly one model; models has 2", (), id="two-models"),
        pytest.param({"prefillDecode": {}}, "prefillDecode: runs only on GPUs", (CPU_SCENARIO,), id="cpu"),
        pytest.param({"prefillDecode": {}, "workerGroups": GROUP, "aliases": [{"name": "x", "targets": [{"model": "qwen2.5-1.5b-instruct", "weight": 1}]}]}, "prefillDecode: aliases are not supported", (), id="aliases"),
        pytest.param({"prefillDecode": {}, "workerGroups": GROUP, "auth": {"enabled": True, "existingSecret": "k"}}, "prefillDecode: auth.enabled is not supported", (), id="auth"),
        pytest.param({"prefillDecode": {"decode": {"tensorParallelSize": 4}}, "workerGroups": GROUP}, "prefillDecode.decode.tensorParallelSize: 4 x pipelineParallelSize 1 GPUs per replica fit no matching worker group", (), id="side-too-wide"),
        pytest.param({"prefillDecode": {"kvConnector": "Carrier"}, "workerGroups": GROUP}, "/prefillDecode", (), id="unknown-connector"),
        pytest.param({"prefillDecode": {"prefil": {}}, "workerGroups": GROUP}, "'prefil'", (), id="misspelled-side"),
    ],
)
def test_what_pd_cannot_do_is_refused_naming_the_field(set_json: dict[str, Any], expected: str, base: tuple) -> None:
    assert expected in render_error(base, set_json)


def test_serve_app_refuses_the_same_configurations() -> None:
    with pytest.raises(ValueError, match="prefill_decode serves exactly one model"):
        AppConfig.model_validate({"models": [{"id": "a"}, {"id": "b"}], "prefill_decode": {}})
    with pytest.raises(ValueError, match="prefill_decode is not set"):
        pd_serving_args(AppConfig.model_validate({"models": [{"id": "a"}]}))


def test_an_empty_prefill_decode_map_turns_it_on_with_defaults() -> None:
    rendered = render(set_json={"prefillDecode": {}, "workerGroups": GROUP})
    assert application(rendered)["import_path"] == "serve_app:build_pd_app"
    assert AppConfig.model_validate(app_args(rendered)).prefill_decode.kv_connector == "NixlConnector"
