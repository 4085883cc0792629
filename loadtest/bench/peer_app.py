"""The peer: plain ``ray.serve.llm.build_openai_app`` with an LLMConfig equivalent to serve_app's.

    python -m loadtest.bench.peer_app --model-dir DIR --model-id tiny-llama --port P --metrics-port M

Same engine arguments, one replica, the same CPU placement and per-replica request
limit as serve_app's tiny-model config; everything else is Ray Serve LLM's default
(its stock OpenAiIngress, no extra middleware).
"""

from __future__ import annotations

import json
import os
from typing import Any

from .launch import common_args, serve_until_signalled
from .settings import ENGINE


def llm_config(model_dir: str, model_id: str) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "model_loading_config": {"model_id": model_id, "model_source": model_dir},
        "engine_kwargs": dict(ENGINE),
        "deployment_config": {
            "autoscaling_config": {"min_replicas": 1, "max_replicas": 1},
            "max_ongoing_requests": 64,
        },
        "accelerator_config": {"kind": "cpu"},
        "placement_group_config": {"bundles": [{"CPU": 1}]},
    }
    # The streaming batching interval is the knob the benchmark's investigation turns;
    # unset, Ray Serve LLM's default applies (as in serve_app).
    interval = os.environ.get("BENCH_STREAM_BATCHING_INTERVAL_MS")
    if interval:
        cfg["experimental_configs"] = {"stream_batching_interval_ms": float(interval)}
    return cfg


def main() -> None:
    args = common_args(__doc__).parse_args()
    from ray.serve.llm import build_openai_app

    cfg = llm_config(args.model_dir, args.model_id)
    print("llm_config:", json.dumps(cfg), flush=True)
    serve_until_signalled(lambda: build_openai_app({"llm_configs": [cfg]}), args)


if __name__ == "__main__":
    main()
