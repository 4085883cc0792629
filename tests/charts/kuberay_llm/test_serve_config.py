"""serve_app.config is the single source of truth: the serveConfigV2 every value set
renders is serve_app's application, its args validate as AppConfig, every model turns
into a Ray Serve LLM config, and every camelCase value lands on its snake_case field."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from serve_app.config import AppConfig, ModelConfig
from serve_app.llm_configs import to_llm_config

from .chart import VALUE_SET_IDS, VALUE_SETS, app_args, rayservice, render, values_args

# One models[] entry that sets every field of ModelConfig to a non-default value.
EVERY_FIELD_CAMEL = {
    "id": "every-field",
    "source": "/opt/models/every-field",
    "expectedStartupS": 60,
    "lock": {"revision": "0123456789abcdef0123456789abcdef01234567", "files": [{"path": "config.json", "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]},
    "engine": {
        "tensorParallelSize": 2,
        "pipelineParallelSize": 1,
        "maxModelLen": 4096,
        "gpuMemoryUtilization": 0.8,
        "kvCacheMemoryBytes": 1073741824,
        "enablePrefixCaching": False,
        "dtype": "bfloat16",
        "quantization": "fp8",
        "maxNumSeqs": 32,
        "maxNumBatchedTokens": 2048,
        "enforceEager": True,
        "extra": {"max_num_partial_prefills": 2, "someCamelKwarg": "kept as is"},
    },
    "autoscaling": {
        "minReplicas": 0,
        "maxReplicas": 1,
        "initialReplicas": 1,
        "targetOngoingRequests": 8.5,
        "upscaleDelayS": 5,
        "downscaleDelayS": 60,
    },
    "accelerator": {"kind": "GPU", "gpuType": "L4", "gpuFraction": 1.0, "cpusPerWorker": 3},
    "lora": {"dynamicLoraLoadingPath": "s3://bucket/adapters", "maxNumAdaptersPerReplica": 4, "maxLoraRank": 32},
    "routing": "prefix_cache_affinity",
    "maxOngoingRequests": 7,
    "maxQueuedRequests": 9,
    "env": {"VLLM_LOGGING_LEVEL": "DEBUG", "camelCaseVar": "kept as is"},
    "gracefulShutdownTimeoutS": 45,
    "streamBatchingIntervalMs": 10,
    "sizing": {
        "enforce": False,
        "parametersB": 8.0,
        "weightsGb": 16.5,
        "gpuMemoryGb": 24.0,
        "numLayers": 32,
        "hiddenSize": 4096,
        "numAttentionHeads": 32,
        "numKvHeads": 8,
    },
}
EVERY_FIELD_SNAKE = {
    "id": "every-field",
    "source": "/opt/models/every-field",
    "expected_startup_s": 60,
    "lock": {"revision": "0123456789abcdef0123456789abcdef01234567", "files": [{"path": "config.json", "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]},
    "engine": {
        "tensor_parallel_size": 2,
        "pipeline_parallel_size": 1,
        "max_model_len": 4096,
        "gpu_memory_utilization": 0.8,
        "kv_cache_memory_bytes": 1073741824,
        "enable_prefix_caching": False,
        "dtype": "bfloat16",
        "quantization": "fp8",
        "max_num_seqs": 32,
        "max_num_batched_tokens": 2048,
        "enforce_eager": True,
        "extra": {"max_num_partial_prefills": 2, "someCamelKwarg": "kept as is"},
    },
    "autoscaling": {
        "min_replicas": 0,
        "max_replicas": 1,
        "initial_replicas": 1,
        "target_ongoing_requests": 8.5,
        "upscale_delay_s": 5,
        "downscale_delay_s": 60,
    },
    "accelerator": {"kind": "GPU", "gpu_type": "L4", "gpu_fraction": 1.0, "cpus_per_worker": 3},
    "lora": {"dynamic_lora_loading_path": "s3://bucket/adapters", "max_num_adapters_per_replica": 4, "max_lora_rank": 32},
    "routing": "prefix_cache_affinity",
    "max_ongoing_requests": 7,
    "max_queued_requests": 9,
    "env": {"VLLM_LOGGING_LEVEL": "DEBUG", "camelCaseVar": "kept as is"},
    "graceful_shutdown_timeout_s": 45,
    "stream_batching_interval_ms": 10,
    "sizing": {
        "enforce": False,
        "parameters_b": 8.0,
        "weights_gb": 16.5,
        "gpu_memory_gb": 24.0,
        "num_layers": 32,
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_kv_heads": 8,
    },
}
GPU_GROUP = [{"groupName": "l4", "gpus": 2, "gpuType": "L4", "minReplicas": 1, "maxReplicas": 1}]


@pytest.fixture(scope="module")
def llm_config_model():
    """Ray Serve LLM's own LLMConfig (imports Ray and the engine: seconds, once)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray's own deprecation noise at import time
        from ray.serve.llm import LLMConfig

    return LLMConfig


def unset_fields(model: Any, prefix: str = "") -> list[str]:
    """Fields of a pydantic model (recursively) that were left at their defaults."""
    missing = []
    for name in type(model).model_fields:
        if name not in model.model_fields_set:
            missing.append(prefix + name)
        value = getattr(model, name)
        if hasattr(type(value), "model_fields"):
            missing += unset_fields(value, f"{prefix}{name}.")
    return missing


@pytest.mark.parametrize("values", VALUE_SETS, ids=VALUE_SET_IDS)
def test_serve_config_is_one_serve_app_application(values: Path | None) -> None:
    config = yaml.safe_load(rayservice(render(values_args(values)))["spec"]["serveConfigV2"])
    (app,) = config["applications"]
    # serve_app's builder, or its prefill/decode builder when prefillDecode is set.
    builder = "serve_app:build_pd_app" if "prefill_decode" in app["args"] else "serve_app:build_app"
    assert {k: v for k, v in app.items() if k != "args"} == {
        "name": "llm",
        "route_prefix": "/",
        "import_path": builder,
    }


@pytest.mark.parametrize("values", VALUE_SETS, ids=VALUE_SET_IDS)
def test_serve_config_args_validate_as_serve_app_app_config(values: Path | None) -> None:
    AppConfig.model_validate(app_args(render(values_args(values))))


@pytest.mark.parametrize("values", VALUE_SETS, ids=VALUE_SET_IDS)
def test_every_model_translates_to_a_ray_serve_llm_config(values: Path | None, llm_config_model) -> None:
    app = AppConfig.model_validate(app_args(render(values_args(values))))
    for model in app.models:
        llm_config_model.model_validate(to_llm_config(model))


def test_every_model_field_lands_on_its_snake_case_field() -> None:
    assert unset_fields(ModelConfig.model_validate(EVERY_FIELD_SNAKE)) == [], "the test entry must set every field"
    args = app_args(render(set_json={"models": [EVERY_FIELD_CAMEL], "workerGroups": GPU_GROUP}))
    assert args["models"] == [EVERY_FIELD_SNAKE]


def test_auth_and_serve_ingress_land_on_app_config_fields() -> None:
    args = app_args(render(set_json={
        "auth": {"enabled": True, "apiKeyEnv": "MY_KEY", "existingSecret": "s"},
        "serveIngress": {"replicas": 3, "maxOngoingRequests": 99, "placement": "any", "requestLimits": {"maxBodyBytes": 2048, "maxJsonDepth": 16, "maxArrayItems": 32}},
    }))
    app = AppConfig.model_validate(args)
    assert (app.auth.enabled, app.auth.api_key_env) == (True, "MY_KEY")
    assert (app.ingress_replicas, app.ingress_max_ongoing_requests, app.ingress_placement) == (3, 99, "any")
    limits = app.request_limits
    assert (limits.max_body_bytes, limits.max_json_depth, limits.max_array_items) == (2048, 16, 32)


def test_default_request_limits_are_serve_app_defaults() -> None:
    """values.yaml's requestLimits and serve_app's defaults are one set of numbers."""
    args = app_args(render())
    assert AppConfig.model_validate(args).request_limits == AppConfig.model_fields["request_limits"].default_factory()


def test_unset_model_fields_are_left_to_serve_app_defaults() -> None:
    args = app_args(render(set_json={"models": [{"id": "only-an-id"}]}))
    assert args["models"] == [{"id": "only-an-id"}]
    assert AppConfig.model_validate(args).models[0] == ModelConfig(id="only-an-id")
