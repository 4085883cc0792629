"""serve_app: vLLM behind Ray Serve with an OpenAI-compatible API, for KubeRay.

Python::

    from ray import serve
    from serve_app import AppConfig, ModelConfig, build_app

    config = AppConfig(models=[ModelConfig(id="llama-3.1-8b", source="meta-llama/Llama-3.1-8B-Instruct")])
    serve.run(build_app(config))

RayService (what the kuberay-llm chart renders)::

    serveConfigV2: |
      applications:
        - name: llm
          route_prefix: /
          import_path: serve_app:build_app
          args:
            models:
              - id: llama-3.1-8b
                source: meta-llama/Llama-3.1-8B-Instruct
                engine: {tensor_parallel_size: 1, max_model_len: 8192}
                autoscaling: {min_replicas: 1, max_replicas: 4}

Locally: ``python -m serve_app`` serves the embedded tiny model on 127.0.0.1:8000.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import (
    AcceleratorConfig,
    AppConfig,
    AuthConfig,
    AutoscalingConfig,
    EngineConfig,
    LoRAConfig,
    ModelConfig,
)

if TYPE_CHECKING:
    from ray.serve.deployment import Application

__all__ = [
    "AcceleratorConfig",
    "AppConfig",
    "AuthConfig",
    "AutoscalingConfig",
    "EngineConfig",
    "LoRAConfig",
    "ModelConfig",
    "build_app",
    "build_pd_app",
]


def build_app(args: "dict[str, Any] | AppConfig") -> "Application":
    """serveConfigV2 import_path target; imports Ray only when an app is built."""
    from .builder import build_app as _build_app

    return _build_app(args)


def build_pd_app(args: "dict[str, Any] | AppConfig") -> "Application":
    """serveConfigV2 import_path target with prefill/decode disaggregation (serve_app.pd)."""
    from .pd import build_pd_app as _build_pd_app

    return _build_pd_app(args)
