"""serve_app's config model: what it accepts, what it rejects (naming the field), what Ray gets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serve_app.config import AppConfig, ModelConfig
from serve_app.llm_configs import PREFIX_ROUTER, to_llm_config

MINIMAL = {"models": [{"id": "llama", "source": "meta-llama/Llama-3.1-8B-Instruct"}]}


def model(**fields) -> ModelConfig:
    return ModelConfig(id="m", **fields)


def error_of(data: dict) -> str:
    with pytest.raises(ValidationError) as info:
        AppConfig.model_validate(data)
    return str(info.value)


def with_model(**fields) -> dict:
    return {"models": [{"id": "m", **fields}]}


BAD = [
    ("no-models", {"models": []}, "models"),
    ("unknown-top-level-key", {**MINIMAL, "modles": []}, "modles"),
    ("unknown-model-key", with_model(sorce="x"), "sorce"),
    ("renamed-key-hint", with_model(model_source="x"), "did you mean 'source'"),
    ("bad-id", with_model(id="has space"), "id"),
    ("tp-zero", with_model(engine={"tensor_parallel_size": 0}), "tensor_parallel_size"),
    ("gpu-util-above-one", with_model(engine={"gpu_memory_utilization": 1.5}), "gpu_memory_utilization"),
    ("bad-dtype", with_model(engine={"dtype": "float8"}), "dtype"),
    ("extra-shadows-field", with_model(engine={"extra": {"max_model_len": 4}}), "engine.extra"),
    ("min-above-max", with_model(autoscaling={"min_replicas": 3, "max_replicas": 2}), "min_replicas (3) must not exceed max_replicas (2)"),
    ("initial-out-of-range", with_model(autoscaling={"min_replicas": 1, "max_replicas": 2, "initial_replicas": 5}), "initial_replicas"),
    ("cpu-with-gpu-type", with_model(accelerator={"kind": "CPU", "gpu_type": "L4"}), "gpu_type"),
    ("cpu-with-fraction", with_model(accelerator={"kind": "CPU", "gpu_fraction": 0.5}), "gpu_fraction"),
    ("fraction-zero", with_model(accelerator={"gpu_fraction": 0}), "gpu_fraction"),
    ("bad-routing", with_model(routing="random"), "routing"),
    ("queue-below-minus-one", with_model(max_queued_requests=-2), "max_queued_requests"),
    ("duplicate-ids", {"models": [{"id": "a"}, {"id": "a"}]}, "models[1].id 'a'"),
    ("auth-bad-env-name", {**MINIMAL, "auth": {"enabled": True, "api_key_env": "1BAD"}}, "api_key_env"),
    ("lora-without-path", with_model(lora={}), "dynamic_lora_loading_path"),
    ("lora-local-path", with_model(lora={"dynamic_lora_loading_path": "/adapters"}), "must start with one of s3://"),
]


@pytest.mark.parametrize(("data", "expect"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_is_rejected_naming_the_field(data, expect):
    assert expect in error_of(data)


def test_minimal_config_gets_safe_defaults():
    cfg = AppConfig.model_validate(MINIMAL)
    m = cfg.models[0]
    assert m.autoscaling.min_replicas == 1 and m.autoscaling.max_replicas == 1
    assert m.max_queued_requests > 0, "queues are bounded by default"
    assert m.accelerator.kind == "GPU"
    assert cfg.auth.enabled is False


def test_source_defaults_to_the_id():
    assert model().model_source == "m"
    assert model(source="/models/x").is_local


def test_cpu_model_gets_one_cpu_bundle_per_worker():
    llm = to_llm_config(model(accelerator={"kind": "CPU", "cpus_per_worker": 2}, engine={"tensor_parallel_size": 2}))
    assert llm["accelerator_config"] == {"kind": "cpu"}
    assert llm["placement_group_config"]["bundles"] == [{"CPU": 2}, {"CPU": 2}]
    assert "accelerator_type" not in llm


def test_cpu_engines_leave_thread_placement_to_the_kernel_unless_told():
    assert to_llm_config(model(accelerator={"kind": "CPU"}))["runtime_env"]["env_vars"] == {"VLLM_CPU_OMP_THREADS_BIND": "nobind"}
    pinned = to_llm_config(model(accelerator={"kind": "CPU"}, env={"VLLM_CPU_OMP_THREADS_BIND": "0-3"}))
    assert pinned["runtime_env"]["env_vars"]["VLLM_CPU_OMP_THREADS_BIND"] == "0-3"
    assert "runtime_env" not in to_llm_config(model())


def test_gpu_bundles_cover_tensor_times_pipeline_parallel():
    llm = to_llm_config(model(engine={"tensor_parallel_size": 8, "pipeline_parallel_size": 4}, accelerator={"gpu_type": "H100"}))
    assert len(llm["placement_group_config"]["bundles"]) == 32
    assert llm["placement_group_config"]["bundles"][0]["GPU"] == 1.0
    assert llm["accelerator_type"] == "H100"
    assert llm["engine_kwargs"]["tensor_parallel_size"] == 8
    assert llm["engine_kwargs"]["pipeline_parallel_size"] == 4


def test_fractional_gpu_reaches_the_bundle():
    llm = to_llm_config(model(accelerator={"gpu_fraction": 0.5}, engine={"gpu_memory_utilization": 0.45}))
    assert llm["placement_group_config"]["bundles"] == [{"GPU": 0.5, "CPU": 1.0}]
    assert llm["engine_kwargs"]["gpu_memory_utilization"] == 0.45


def test_prefix_cache_affinity_routing_sets_the_request_router():
    llm = to_llm_config(model(routing="prefix_cache_affinity"))
    assert llm["deployment_config"]["request_router_config"] == {"request_router_class": PREFIX_ROUTER}
    assert "request_router_config" not in to_llm_config(model())["deployment_config"]


def test_autoscaling_and_queue_bounds_reach_the_deployment():
    d = to_llm_config(model(autoscaling={"min_replicas": 0, "max_replicas": 4, "target_ongoing_requests": 8}, max_ongoing_requests=32, max_queued_requests=100))["deployment_config"]
    assert d["autoscaling_config"]["min_replicas"] == 0
    assert d["autoscaling_config"]["max_replicas"] == 4
    assert d["autoscaling_config"]["target_ongoing_requests"] == 8
    assert d["max_ongoing_requests"] == 32
    assert d["max_queued_requests"] == 100
    assert d["graceful_shutdown_timeout_s"] > 0


def test_lora_enables_adapters_in_engine_and_serve():
    llm = to_llm_config(model(lora={"dynamic_lora_loading_path": "s3://bucket/adapters", "max_lora_rank": 64}))
    assert llm["engine_kwargs"]["enable_lora"] is True
    assert llm["engine_kwargs"]["max_lora_rank"] == 64
    assert llm["lora_config"]["dynamic_lora_loading_path"] == "s3://bucket/adapters"


def test_optional_engine_args_are_omitted_when_unset():
    kwargs = to_llm_config(model())["engine_kwargs"]
    for key in ("max_model_len", "quantization", "max_num_seqs", "kv_cache_memory_bytes"):
        assert key not in kwargs


def test_extra_engine_args_pass_through():
    assert to_llm_config(model(engine={"extra": {"swap_space": 4}}))["engine_kwargs"]["swap_space"] == 4


def test_ray_accepts_every_translated_config():
    from ray.serve.llm import LLMConfig

    for m in (model(), model(accelerator={"kind": "CPU"}), model(routing="prefix_cache_affinity", lora={"dynamic_lora_loading_path": "gs://b/adapters"})):
        LLMConfig.model_validate(to_llm_config(m))


def test_stream_batching_interval_reaches_ray_serve_llm_experimental_configs():
    from ray.serve.llm import LLMConfig

    llm = to_llm_config(model(stream_batching_interval_ms=10))
    assert LLMConfig.model_validate(llm).experimental_configs["stream_batching_interval_ms"] == 10
    assert "experimental_configs" not in to_llm_config(model())


def test_rolling_updates_start_replacements_before_draining_old_replicas():
    from ray.serve.llm import LLMConfig

    from serve_app.builder import ingress_options
    llm = to_llm_config(model())
    assert llm["deployment_config"]["max_surge_percent"] == 100
    ingress = ingress_options(AppConfig.model_validate(MINIMAL), [LLMConfig.model_validate(llm)])
    assert ingress["max_surge_percent"] == 100
    # Streams pass through the ingress: it must drain them as long as the engines do.
    assert ingress["graceful_shutdown_timeout_s"] == AppConfig.model_validate(MINIMAL).models[0].graceful_shutdown_timeout_s


def test_the_ingress_prefers_ray_workers_so_a_worker_keeps_its_serve_proxy():
    from ray.serve.llm import LLMConfig
    from ray.serve.schema import RayActorOptionsSchema

    from serve_app.builder import ingress_options
    llm = [LLMConfig.model_validate(to_llm_config(model()))]
    options = ingress_options(AppConfig.model_validate(MINIMAL), llm)["ray_actor_options"]
    RayActorOptionsSchema.model_validate(options)
    # KubeRay's head is the node group "headgroup"; without a worker the ingress still runs.
    assert options == {"num_cpus": 0, "label_selector": {"ray.io/node-group": "!headgroup"}, "fallback_strategy": [{"label_selector": {}}]}
    anywhere = ingress_options(AppConfig.model_validate({**MINIMAL, "ingress_placement": "any"}), llm)["ray_actor_options"]
    assert anywhere == {"num_cpus": 0}


def test_tracing_needs_an_endpoint_and_engine_spans_need_tracing():
    with pytest.raises(ValidationError, match="tracing.otlp_endpoint is required"):
        AppConfig.model_validate({**MINIMAL, "tracing": {"enabled": True}})
    with pytest.raises(ValidationError, match="engine_spans needs tracing.enabled"):
        AppConfig.model_validate({**MINIMAL, "tracing": {"engine_spans": True}})


def test_engine_spans_point_vllm_at_the_same_collector_over_http():
    from serve_app.config import TracingConfig

    tracing = TracingConfig(enabled=True, otlp_endpoint="http://collector:4318/v1/traces", engine_spans=True)
    llm = to_llm_config(model(), tracing)
    assert llm["engine_kwargs"]["otlp_traces_endpoint"] == "http://collector:4318/v1/traces"
    assert llm["runtime_env"]["env_vars"]["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "http/protobuf"
    assert "otlp_traces_endpoint" not in to_llm_config(model(), TracingConfig())["engine_kwargs"]


def test_a_model_may_not_scale_down_sooner_than_its_declared_start():
    with pytest.raises(ValidationError, match=r"autoscaling.downscale_delay_s \(300\) is shorter than expected_startup_s \(900\)"):
        model(expected_startup_s=900, autoscaling={"downscale_delay_s": 300})
    assert model(expected_startup_s=600).expected_startup_s == 600  # serve_app's default delay, 600 s, is as long
