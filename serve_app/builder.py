"""The application builder: serveConfigV2's ``import_path`` is ``serve_app:build_app``.

It takes the dict the kuberay-llm chart renders as the application's ``args`` (or an
AppConfig), validates it first, so a bad value fails the deploy with the field's path,
logs the final options, and wires one Ray Serve LLM deployment per model behind the
serve_app ingress.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ray import serve
from ray.llm._internal.serve.core.configs.openai_api_models import to_model_metadata
from ray.serve.deployment import Application
from ray.serve.llm import LLMConfig, build_llm_deployment

from .aliases import with_aliases
from .config import AppConfig
from .ingress import ServeAppIngress, make_ingress_class
from .server import ServeAppLLMServer
from .llm_configs import MAX_SURGE_PERCENT, drain_timeout_s, ingress_actor_options, to_llm_config

log = logging.getLogger("serve_app")


def ingress_options(config: AppConfig, llm_configs: list[LLMConfig]) -> dict[str, Any]:
    options = ServeAppIngress.get_deployment_options(llm_configs)
    options.pop("autoscaling_config", None)
    options.update(
        num_replicas=config.ingress_replicas,
        max_ongoing_requests=config.ingress_max_ongoing_requests,
        ray_actor_options=ingress_actor_options(config),
        # Streams pass through the ingress: on a rolling update it must drain them as
        # long as the engines do (Serve's default is 20 s), and start its replacement
        # first, like the engines.
        graceful_shutdown_timeout_s=drain_timeout_s(config),
        max_surge_percent=MAX_SURGE_PERCENT,
    )
    return options


def build_app(args: dict[str, Any] | AppConfig) -> Application:
    """Build the Serve application from serve_app's config (dict or AppConfig)."""
    config = args if isinstance(args, AppConfig) else AppConfig.model_validate(args)
    llm_dicts = [to_llm_config(m, config.tracing) for m in config.models]
    log.info("serve_app config: %s", json.dumps(config.model_dump(mode="json")))
    llm_configs = [LLMConfig.model_validate(d) for d in llm_dicts]

    # Deployment names stay Ray's ("LLMServer:<model>"): dashboards and alerts key on them.
    deployments = {c.model_id: build_llm_deployment(c, deployment_cls=ServeAppLLMServer, name_prefix="LLMServer:") for c in llm_configs}
    cards = {c.model_id: to_model_metadata(c.model_id, c) for c in llm_configs}
    lora_paths = {c.model_id: c.lora_config.dynamic_lora_loading_path for c in llm_configs if c.lora_config}

    ingress_cls = make_ingress_class(config.auth, config.tracing, config.request_limits)
    extra: dict[str, Any] = {}
    if config.aliases:
        # Weighted aliases (A/B versions) only wrap the ingress when configured.
        ingress_cls = with_aliases(ingress_cls)
        extra["aliases"] = [a.model_dump() for a in config.aliases]
    options = ingress_options(config, llm_configs)
    log.info("ingress options: %s", options)
    return serve.deployment(ingress_cls, name="OpenAiIngress", **options).bind(
        llm_deployments=deployments,
        model_cards=cards,
        lora_paths=lora_paths,
        auth=config.auth.model_dump(),
        **extra,
    )
