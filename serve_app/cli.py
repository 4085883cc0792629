"""Run serve_app locally: ``python -m serve_app`` (or the ``serve-app`` script).

With no arguments it serves the embedded tiny model through Ray Serve and the real
vLLM CPU engine on http://127.0.0.1:8000 — the README's first command. ``--config``
takes the same YAML/JSON that the kuberay-llm chart renders into serveConfigV2 args.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from .config import AppConfig
from .defaults import local_app_config
from .llm_configs import drain_timeout_s

log = logging.getLogger("serve_app")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_METRICS_PORT = 8080
# Ray schedules by logical CPUs: the engine bundle, the ingress and Serve's own actors
# must all fit even on a 2-core laptop, so the local head advertises more than it has.
DEFAULT_LOGICAL_CPUS = 8
APP_NAME = "llm"
DRAIN_MARGIN_S = 10
DRAIN_POLL_S = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="serve-app", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="YAML or JSON AppConfig (default: the embedded tiny model on CPU)")
    p.add_argument("--host", default=DEFAULT_HOST, help="address the HTTP proxy binds (default: %(default)s)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port (default: %(default)s)")
    p.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT, help="Prometheus metrics port of the local Ray node (default: %(default)s)")
    p.add_argument("--num-cpus", type=int, default=DEFAULT_LOGICAL_CPUS, help="logical CPUs the local Ray node advertises (default: %(default)s)")
    p.add_argument("--print-config", action="store_true", help="print the validated config as JSON and exit")
    return p.parse_args(argv)


def load_config(path: Path | None) -> AppConfig:
    if path is None:
        return local_app_config()
    data: Any = yaml.safe_load(path.read_text())
    return AppConfig.model_validate(data)


def run(config: AppConfig, host: str, port: int, metrics_port: int, num_cpus: int, config_path: Path | None = None) -> None:
    """Start a local Ray node, deploy the app and serve until SIGINT/SIGTERM, then drain.

    SIGHUP re-reads ``--config`` and redeploys it: Serve rolls the changed deployments
    over (replacement first, then a graceful drain of the old replica), the same
    in-place update KubeRay does when serveConfigV2 changes. An invalid file is logged
    and the running app keeps serving.
    """
    import ray
    from ray import serve

    from .builder import build_app

    ray.init(num_cpus=num_cpus, include_dashboard=False, _metrics_export_port=metrics_port)
    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(config), name=APP_NAME, route_prefix="/", blocking=False)
    log.info("serving %s on http://%s:%d (metrics on :%d)", [m.id for m in config.models], host, port, metrics_port)
    print(f"ready: http://{host}:{port}/v1/models", flush=True)

    # SimpleQueue.put is safe to call from a signal handler.
    signals: "queue.SimpleQueue[int]" = queue.SimpleQueue()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _: signals.put(signum))
    while signals.get() == signal.SIGHUP:
        config = redeploy(config_path) or config
    drain(drain_timeout_s(config) + DRAIN_MARGIN_S)
    serve.shutdown()
    ray.shutdown()


def drain(timeout_s: float) -> None:
    """Delete the app so every replica finishes its in-flight requests, for at most ``timeout_s``.

    Deleting first keeps the HTTP proxy carrying the streams while replicas drain
    (up to their graceful_shutdown_timeout_s); serve.shutdown() alone stops the proxy
    at once and cuts them. Bounded, so a cluster that is itself going away (its
    processes signalled too) cannot hang the exit.
    """
    from ray import serve

    log.info("shutting down: draining in-flight requests (at most %.0f s)", timeout_s)
    deadline = time.monotonic() + timeout_s
    try:
        serve.delete(APP_NAME, _blocking=False)
        while APP_NAME in serve.status().applications and time.monotonic() < deadline:
            time.sleep(DRAIN_POLL_S)
    except Exception as e:  # noqa: BLE001 - a failing cluster must not block the exit
        log.warning("drain cut short: %s", e)


def redeploy(config_path: Path | None) -> AppConfig | None:
    """Apply the config file again (a rolling update); keep serving if it is invalid.

    Returns the config now deployed, or None when the previous one stays.
    """
    from ray import serve

    from .builder import build_app

    if config_path is None:
        log.warning("SIGHUP ignored: no --config file to reload")
        return
    try:
        config = load_config(config_path)
    except (OSError, ValueError, yaml.YAMLError) as e:  # ValidationError is a ValueError
        log.error("SIGHUP: %s is invalid, still serving the previous config: %s", config_path, e)
        return
    log.info("SIGHUP: redeploying %s", config_path)
    serve.run(build_app(config), name=APP_NAME, route_prefix="/", blocking=False)
    print("redeployed", flush=True)
    return config


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("SERVE_APP_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    config = load_config(args.config)
    if args.print_config:
        print(json.dumps(config.model_dump(mode="json"), indent=2))
        return 0
    run(config, args.host, args.port, args.metrics_port, args.num_cpus, args.config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
