"""Run one Ray Serve application on a fresh local Ray node until SIGTERM/SIGINT.

Shared by the benchmark's own launchers (peer_app, naive_app): the same steps
serve_app's CLI takes, so the Ray-based systems differ only in the application.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Callable

from .settings import RAY_NUM_CPUS


def common_args(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model-dir", required=True, help="directory of the model (tokenizer and weights)")
    p.add_argument("--model-id", required=True, help="name clients pass as `model`")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--metrics-port", type=int, required=True)
    p.add_argument("--num-cpus", type=int, default=RAY_NUM_CPUS)
    return p


def serve_until_signalled(build: Callable[[], object], args: argparse.Namespace) -> None:
    import ray
    from ray import serve

    ray.init(num_cpus=args.num_cpus, include_dashboard=False, _metrics_export_port=args.metrics_port)
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(build(), name="llm", route_prefix="/", blocking=False)
    print(f"ready: http://{args.host}:{args.port}/v1/models", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    serve.shutdown()
    ray.shutdown()
