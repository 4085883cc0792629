"""Prefill/decode disaggregation: serve_app's config as Ray Serve LLM's P/D builder args.

With ``prefill_decode`` set, the application is Ray Serve LLM's P/D graph (ingress ->
decode -> prefill deployments, the KV cache handed over by a vLLM KV connector) for
the one model, built from the same ModelConfig translation as every other model
(llm_configs.to_llm_config), so sizing, placement and engine settings mean the same.
serveConfigV2's ``import_path`` is then ``serve_app:build_pd_app``. Kept free of Ray
imports except in the builder, so the args can be validated and printed anywhere.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .config import AppConfig, ModelConfig, PDRoleConfig
from .llm_configs import ingress_actor_options, to_llm_config

if TYPE_CHECKING:
    from ray.serve.deployment import Application

log = logging.getLogger("serve_app")

#: The role each side plays in the KV transfer: both may send and receive, as Ray's docs use it.
KV_ROLE = "kv_both"


def _side(model: ModelConfig, role: PDRoleConfig, kv_connector: str) -> dict[str, Any]:
    engine = model.engine
    if role.tensor_parallel_size:
        engine = engine.model_copy(update={"tensor_parallel_size": role.tensor_parallel_size})
    config = to_llm_config(model.model_copy(update={"engine": engine, "autoscaling": role.autoscaling}))
    config["engine_kwargs"]["kv_transfer_config"] = {"kv_connector": kv_connector, "kv_role": KV_ROLE}
    return config


def pd_serving_args(config: AppConfig) -> dict[str, Any]:
    """The dict ray.serve.llm.build_pd_openai_app takes (its PDServingArgs)."""
    pd = config.prefill_decode
    if pd is None:
        raise ValueError("prefill_decode is not set")
    model = config.models[0]
    return {
        "prefill_config": _side(model, pd.prefill, pd.kv_connector),
        "decode_config": _side(model, pd.decode, pd.kv_connector),
        "ingress_deployment_config": {
            "autoscaling_config": {"min_replicas": config.ingress_replicas, "max_replicas": config.ingress_replicas},
            "max_ongoing_requests": config.ingress_max_ongoing_requests,
            "ray_actor_options": ingress_actor_options(config),
        },
    }


def build_pd_app(args: dict[str, Any] | AppConfig) -> "Application":
    """serveConfigV2 import_path target for prefill/decode disaggregation."""
    from ray.serve.llm import build_pd_openai_app

    config = args if isinstance(args, AppConfig) else AppConfig.model_validate(args)
    pd_args = pd_serving_args(config)
    log.info("serve_app prefill/decode args: %s", pd_args)
    return build_pd_openai_app(pd_args)
