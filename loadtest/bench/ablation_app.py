"""serve_app with one piece swapped out, to measure what each piece costs.

    python -m loadtest.bench.ablation_app --config serve_app.yaml --ingress stock --port P --metrics-port M

Builds exactly what ``serve_app.builder.build_app`` builds (the same LLMConfigs and
ingress deployment options), except:

- ``--ingress serve_app``: serve_app's ingress as shipped (reference);
- ``--ingress no_middleware``: serve_app's ingress class on Ray's stock FastAPI app,
  without serve_app's request-shape, error-shape and auth middleware;
- ``--ingress stock``: Ray Serve LLM's stock ``OpenAiIngress``;
- ``--no-access-log``: Serve's per-request access log off on every deployment.

The benchmark's investigation starts it as the ``ablation`` base system, choosing the
swap with ``BENCH_INGRESS`` and ``BENCH_ACCESS_LOG=0`` (``--variant
NAME=ablation,BENCH_INGRESS=stock``); users never run it.
"""

from __future__ import annotations

import argparse
import json
import os

import yaml

from .settings import RAY_NUM_CPUS


def build(config_path: str, ingress: str, access_log: bool):
    from ray import serve
    from ray.llm._internal.serve.core.configs.openai_api_models import to_model_metadata
    from ray.llm._internal.serve.core.ingress.ingress import DEFAULT_ENDPOINTS
    from ray.llm._internal.serve.core.ingress.ingress import init as init_ray_app
    from ray.serve.llm import LLMConfig, build_llm_deployment
    from ray.serve.llm.ingress import OpenAiIngress, make_fastapi_ingress

    from serve_app.builder import build_app, ingress_options
    from serve_app.config import AppConfig
    from serve_app.ingress import ServeAppIngress
    from serve_app.llm_configs import to_llm_config

    config = AppConfig.model_validate(yaml.safe_load(open(config_path)))
    if ingress == "serve_app" and access_log:
        return build_app(config)
    logging = None if access_log else {"enable_access_log": False}
    llm_dicts = [to_llm_config(m) for m in config.models]
    if logging:
        for d in llm_dicts:
            d["deployment_config"]["logging_config"] = logging
    llm_configs = [LLMConfig.model_validate(d) for d in llm_dicts]
    deployments = {c.model_id: build_llm_deployment(c) for c in llm_configs}
    cards = {c.model_id: to_model_metadata(c.model_id, c) for c in llm_configs}
    options = ingress_options(config, llm_configs)
    if logging:
        options["logging_config"] = logging
    kwargs = dict(llm_deployments=deployments, model_cards=cards, lora_paths={})
    if ingress == "stock":
        cls = make_fastapi_ingress(OpenAiIngress)
    elif ingress == "no_middleware":
        endpoints = {**DEFAULT_ENDPOINTS, "health": lambda app: app.get("/health")}
        cls = make_fastapi_ingress(ServeAppIngress, endpoint_map=endpoints, app=init_ray_app())
        kwargs["auth"] = config.auth.model_dump()
    elif ingress == "serve_app":
        from serve_app.ingress import make_ingress_class

        cls = make_ingress_class(config.auth)
        kwargs["auth"] = config.auth.model_dump()
    else:
        raise ValueError(ingress)
    return serve.deployment(cls, name="OpenAiIngress", **options).bind(**kwargs)


def main() -> None:
    from .launch import serve_until_signalled

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", required=True)
    p.add_argument("--ingress", choices=["serve_app", "no_middleware", "stock"], default=os.environ.get("BENCH_INGRESS", "serve_app"))
    p.add_argument("--no-access-log", action="store_true", default=os.environ.get("BENCH_ACCESS_LOG") == "0")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--metrics-port", type=int, required=True)
    p.add_argument("--num-cpus", type=int, default=RAY_NUM_CPUS)
    args = p.parse_args()
    print("ablation:", json.dumps({"ingress": args.ingress, "access_log": not args.no_access_log}), flush=True)
    serve_until_signalled(lambda: build(args.config, args.ingress, not args.no_access_log), args)


if __name__ == "__main__":
    main()
