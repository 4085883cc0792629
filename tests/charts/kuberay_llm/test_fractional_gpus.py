"""Fractional GPUs: several small models share one GPU. The bundle Ray Serve LLM gets
asks for the fraction (and Ray Serve LLM hands it to vLLM as VLLM_RAY_PER_WORKER_GPUS),
and replicas Ray may pack onto one GPU must not claim more than 0.90 of its memory
together: the chart refuses such values naming the models, with serve_app's words."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest
from pydantic import ValidationError

from serve_app.config import AppConfig
from serve_app.llm_configs import to_llm_config

from .chart import PRESET_DIR, app_args, render, render_error

PRESET = PRESET_DIR / "two-7b-models-one-gpu.yaml"
ONE_H100 = [{"groupName": "h100", "gpus": 1, "gpuType": "H100", "minReplicas": 1, "maxReplicas": 1}]


def shared(model_id: str, fraction: float, utilization: float, max_replicas: int = 1, **engine: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "engine": {"gpuMemoryUtilization": utilization, **engine},
        "accelerator": {"gpuType": "H100", "gpuFraction": fraction},
        "autoscaling": {"minReplicas": 1, "maxReplicas": max_replicas},
    }


def python_error(models: list[dict[str, Any]]) -> str:
    """serve_app's own refusal of the same models (its snake_case config)."""
    snake = [
        {
            "id": m["id"],
            "engine": {"gpu_memory_utilization": m["engine"]["gpuMemoryUtilization"]},
            "accelerator": {"gpu_type": m["accelerator"]["gpuType"], "gpu_fraction": m["accelerator"]["gpuFraction"]},
            "autoscaling": {"min_replicas": 1, "max_replicas": m["autoscaling"]["maxReplicas"]},
        }
        for m in models
    ]
    with pytest.raises(ValidationError) as info:
        AppConfig.model_validate({"models": snake})
    return str(info.value)


@pytest.fixture(scope="module")
def vllm_engine_config():
    """Ray Serve LLM's LLMConfig and the vLLM engine config it derives (imports Ray: seconds, once)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ray.llm._internal.serve.engines.vllm.vllm_models import VLLMEngineConfig
        from ray.serve.llm import LLMConfig

    return LLMConfig, VLLMEngineConfig


def test_preset_puts_two_models_on_half_a_gpu_each(vllm_engine_config) -> None:
    llm_config, engine_config = vllm_engine_config
    app = AppConfig.model_validate(app_args(render([PRESET])))
    assert len(app.models) == 2
    for model in app.models:
        llm = llm_config.model_validate(to_llm_config(model))
        assert llm.placement_group_config["bundles"] == [{"GPU": 0.5, "CPU": 1.0}]
        env = engine_config.from_llm_config(llm).get_runtime_env_with_local_env_vars()["env_vars"]
        assert env["VLLM_RAY_PER_WORKER_GPUS"] == "0.5"
    assert sum(m.engine.gpu_memory_utilization for m in app.models) <= 0.9


def test_shares_summing_above_the_limit_are_refused_naming_both_models() -> None:
    models = [shared("llama", 0.5, 0.5), shared("qwen", 0.5, 0.45)]
    error = render_error(set_json={"models": models, "workerGroups": ONE_H100})
    assert "models[0].engine.gpuMemoryUtilization: llama: one GPU can hold 1 x llama + 1 x qwen (gpuFraction 1.00 in all), whose gpuMemoryUtilization sums to 0.95 > 0.90" in error
    assert "models[1].engine.gpuMemoryUtilization: qwen: one GPU can hold 1 x qwen + 1 x llama" in error
    tail = re.search(r"llama: (one GPU can hold [^\n]*)", error).group(1)
    assert tail in python_error(models)


def test_replicas_of_one_model_count_against_their_gpu() -> None:
    models = [shared("small", 0.25, 0.25, max_replicas=4)]
    group = [{**ONE_H100[0], "maxReplicas": 1}]
    error = render_error(set_json={"models": models, "workerGroups": group})
    assert "small: one GPU can hold 4 x small (gpuFraction 1.00 in all), whose gpuMemoryUtilization sums to 1.00 > 0.90" in error


def test_a_lone_share_may_use_its_whole_fraction() -> None:
    """Nothing else can land on the GPU, so half a GPU at 0.5 leaves no neighbour short."""
    render(set_json={"models": [shared("alone", 0.5, 0.5)], "workerGroups": ONE_H100})


def test_fractions_of_other_gpu_types_do_not_share() -> None:
    models = [shared("a", 0.5, 0.5), {**shared("b", 0.5, 0.5), "accelerator": {"gpuType": "L4", "gpuFraction": 0.5}}]
    groups = [ONE_H100[0], {**ONE_H100[0], "groupName": "l4", "gpuType": "L4"}]
    render(set_json={"models": models, "workerGroups": groups})


def test_a_fraction_with_tensor_parallelism_is_refused() -> None:
    models = [shared("tp", 0.5, 0.4, tensorParallelSize=2)]
    error = render_error(set_json={"models": models, "workerGroups": [{**ONE_H100[0], "gpus": 2}]})
    assert "models[0].accelerator.gpuFraction: 0.5 < 1 needs tensorParallelSize x pipelineParallelSize = 1 (got 2 x 1)" in error
    with pytest.raises(ValidationError, match="gpu_fraction < 1 needs tensor_parallel_size x pipeline_parallel_size = 1"):
        AppConfig.model_validate({"models": [{"id": "tp", "accelerator": {"gpu_fraction": 0.5}, "engine": {"tensor_parallel_size": 2}}]})
