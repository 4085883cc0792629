"""Translate serve_app's ModelConfig into Ray Serve LLM's LLMConfig (as a plain dict).

Kept free of Ray imports so the translation is testable, and printable by
``serve-app --print-config``, anywhere the config model is.
"""

from __future__ import annotations

from typing import Any

from .config import AppConfig, ModelConfig, TracingConfig

PREFIX_ROUTER = "ray.serve.llm.request_router:PrefixCacheAffinityRouter"

# Serve stops routing to a replica whose health check fails three periods in a row
# (at once if its actor died) and replaces it; /health reports what Serve sees. The
# engine's own check is a flag read, so probe often.
HEALTH_CHECK_PERIOD_S = 2
HEALTH_CHECK_TIMEOUT_S = 30
# Rolling updates (a changed config) start each replacement replica before stopping
# the replica it replaces, so capacity never drops to zero: with the default (0) a
# one-replica model queues every request for a whole engine start (minutes on GPUs).
# The price is one extra replica's devices for the length of the update; where the
# cluster has none free, the old replica keeps serving until the autoscaler adds one.
MAX_SURGE_PERCENT = 100

# vLLM CPU backend: where an engine pins its OpenMP threads.
CPU_THREADS_BIND = "VLLM_CPU_OMP_THREADS_BIND"


def drain_timeout_s(config: AppConfig) -> float:
    """How long the app's replicas may take to drain: the longest any model allows.

    The ingress carries every stream, so it must outlast the slowest engine's drain.
    """
    return max(m.graceful_shutdown_timeout_s for m in config.models)


# experimental_configs key that carries a model's lock to ServeAppLLMServer.
MODEL_LOCK_CONFIG = "serve_app_model_lock"

# The Ray node label KubeRay gives the head (the pod label ray.io/group, as Ray's
# ray.io/node-group node label); a node without the label (a local Ray) is a worker.
HEAD_NODE_GROUP = "headgroup"


def ingress_actor_options(config: AppConfig) -> dict[str, Any]:
    """Ray actor options of the ingress replicas.

    The ingress only forwards, so it asks for no CPU an engine needs. Ray Serve runs a
    proxy only on nodes with a replica (and the controller's): with ``workers`` the
    ingress holds one on a worker, so that worker's proxy, and its endpoint in the
    chart's Service (the head is excluded), outlive the replacement of its only engine.
    Without a worker the fallback places the ingress on the head rather than nowhere.
    """
    options: dict[str, Any] = {"num_cpus": 0}
    if config.ingress_placement == "workers":
        options["label_selector"] = {"ray.io/node-group": f"!{HEAD_NODE_GROUP}"}
        options["fallback_strategy"] = [{"label_selector": {}}]
    return options


def engine_kwargs(model: ModelConfig) -> dict[str, Any]:
    e = model.engine
    kwargs: dict[str, Any] = {
        "tensor_parallel_size": e.tensor_parallel_size,
        "pipeline_parallel_size": e.pipeline_parallel_size,
        "enable_prefix_caching": e.enable_prefix_caching,
        "dtype": e.dtype,
        "enforce_eager": e.enforce_eager,
        "gpu_memory_utilization": e.gpu_memory_utilization,
    }
    optional = {
        "max_model_len": e.max_model_len,
        "kv_cache_memory_bytes": e.kv_cache_memory_bytes,
        "quantization": e.quantization,
        "max_num_seqs": e.max_num_seqs,
        "max_num_batched_tokens": e.max_num_batched_tokens,
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    if model.lora:
        kwargs["enable_lora"] = True
        kwargs["max_lora_rank"] = model.lora.max_lora_rank
        kwargs["max_loras"] = model.lora.max_num_adapters_per_replica
    kwargs.update(model.engine.extra)
    return kwargs


def placement(model: ModelConfig) -> dict[str, Any]:
    """Accelerator fields of LLMConfig: one bundle per engine worker (TP x PP of them)."""
    acc = model.accelerator
    n = model.engine.devices_per_replica
    if acc.kind == "CPU":
        return {
            "accelerator_config": {"kind": "cpu"},
            "placement_group_config": {"bundles": [{"CPU": acc.cpus_per_worker}] * n, "strategy": "PACK"},
        }
    out: dict[str, Any] = {
        "accelerator_config": {"kind": "gpu"},
        "placement_group_config": {
            "bundles": [{"GPU": acc.gpu_fraction, "CPU": acc.cpus_per_worker}] * n,
            # Pipeline stages may span nodes; tensor-parallel groups prefer one node.
            "strategy": "PACK",
        },
    }
    if acc.gpu_type:
        out["accelerator_type"] = acc.gpu_type
    return out


def deployment_config(model: ModelConfig) -> dict[str, Any]:
    a = model.autoscaling
    autoscaling = {
        "min_replicas": a.min_replicas,
        "max_replicas": a.max_replicas,
        "target_ongoing_requests": a.target_ongoing_requests,
        "upscale_delay_s": a.upscale_delay_s,
        "downscale_delay_s": a.downscale_delay_s,
    }
    if a.initial_replicas is not None:
        autoscaling["initial_replicas"] = a.initial_replicas
    cfg: dict[str, Any] = {
        "autoscaling_config": autoscaling,
        "max_ongoing_requests": model.max_ongoing_requests,
        "max_queued_requests": model.max_queued_requests,
        "health_check_period_s": HEALTH_CHECK_PERIOD_S,
        "health_check_timeout_s": HEALTH_CHECK_TIMEOUT_S,
        "graceful_shutdown_timeout_s": model.graceful_shutdown_timeout_s,
        "max_surge_percent": MAX_SURGE_PERCENT,
    }
    if model.routing == "prefix_cache_affinity":
        cfg["request_router_config"] = {"request_router_class": PREFIX_ROUTER}
    return cfg


def to_llm_config(model: ModelConfig, tracing: TracingConfig | None = None) -> dict[str, Any]:
    """The LLMConfig dict for one model, as ray.serve.llm.LLMConfig.model_validate takes it.

    With ``tracing.engine_spans`` the engine exports its own per-request spans to the
    same OTLP/HTTP endpoint as the ingress (vLLM speaks gRPC unless told otherwise).
    """
    cfg: dict[str, Any] = {
        "model_loading_config": {"model_id": model.id, "model_source": model.model_source},
        "engine_kwargs": engine_kwargs(model),
        "deployment_config": deployment_config(model),
        "log_engine_metrics": True,
        **placement(model),
    }
    if model.stream_batching_interval_ms is not None:
        cfg["experimental_configs"] = {"stream_batching_interval_ms": model.stream_batching_interval_ms}
    if model.lock is not None:
        # Ray Serve LLM hands its LLMConfig, experimental_configs included, to serve_app's LLMServer.
        cfg.setdefault("experimental_configs", {})[MODEL_LOCK_CONFIG] = model.lock.model_dump()
    if model.lora:
        cfg["lora_config"] = {
            "dynamic_lora_loading_path": model.lora.dynamic_lora_loading_path,
            "max_num_adapters_per_replica": model.lora.max_num_adapters_per_replica,
        }
    env = dict(model.env)
    if model.accelerator.kind == "CPU":
        # vLLM's default (`auto`) pins each CPU engine's threads to the first cores it
        # sees, the same ones for every engine in a pod: during a rolling update the
        # replacement engine shares (and stalls on) the old one's cores.
        env.setdefault(CPU_THREADS_BIND, "nobind")
    if tracing is not None and tracing.engine_spans:
        cfg["engine_kwargs"]["otlp_traces_endpoint"] = tracing.otlp_endpoint
        env.setdefault("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
        env.setdefault("OTEL_SERVICE_NAME", f"{tracing.service_name}-engine")
    if env:
        cfg["runtime_env"] = {"env_vars": env}
    return cfg
