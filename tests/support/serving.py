"""Run serve_app the way a user does (``python -m serve_app``) for the serve/load tiers.

One process per test session: engine start costs ~30-80 s on 2 cores, so every test
that needs a live endpoint shares it. The app serves two copies of the embedded tiny
model (to test routing by ``model``) with API-key auth on (the default for shared
clusters); both engines are the real vLLM CPU engine behind real Ray Serve.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from . import processes
from .tools import REPO

MODEL_A = "tiny-llama"
MODEL_B = "tiny-llama-b"
API_KEY = "test-key-3f9c2a"  # a test-only key; never a real credential
API_KEY_ENV = "SERVE_APP_API_KEY"
# MODEL_B has a deliberately small capacity so a burst can overflow its bounded queue.
MODEL_B_MAX_ONGOING = 4
MODEL_B_MAX_QUEUED = 4
STARTUP_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServedApp:
    base_url: str
    metrics_url: str
    api_key: str
    models: list[str]
    log_path: Path
    process: subprocess.Popen = field(repr=False)
    config_path: Path | None = None

    def client(self, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=120, **kw)

    def log_tail(self, n: int = 80) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def app_config(model_dir: str, otlp_endpoint: str | None = None) -> dict:
    """The shared app: two engines, auth on, the model pinned by its lock, and tracing to ``otlp_endpoint`` when given."""
    from serve_app.defaults import tiny_engine
    from serve_app.models import lock_directory

    common = {
        "source": model_dir,
        "lock": lock_directory(Path(model_dir)).model_dump(),
        "engine": tiny_engine(),
        "accelerator": {"kind": "CPU"},
        "autoscaling": {"min_replicas": 1, "max_replicas": 1},
        "max_queued_requests": 64,
    }
    return {
        "models": [
            {"id": MODEL_A, **common},
            {"id": MODEL_B, **common, "max_ongoing_requests": MODEL_B_MAX_ONGOING, "max_queued_requests": MODEL_B_MAX_QUEUED},
        ],
        "auth": {"enabled": True, "api_key_env": API_KEY_ENV},
        **({"tracing": {"enabled": True, "otlp_endpoint": otlp_endpoint, "engine_spans": True}} if otlp_endpoint else {}),
    }


def model_dir() -> str:
    from serve_app.tiny_model import ensure_model

    return str(ensure_model())


def start(workdir: Path, config: dict | None = None) -> ServedApp:
    """Start ``python -m serve_app`` on ``config`` (default: the shared two-model app)."""
    config = config or app_config(model_dir())
    config_path = workdir / "app.yaml"
    config_path.write_text(yaml.safe_dump(config))
    port, metrics_port = free_port(), free_port()
    log_path = workdir / "serve_app.log"
    env = {**os.environ, API_KEY_ENV: API_KEY, "PYTHONPATH": str(REPO)}
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "serve_app", "--config", str(config_path), "--port", str(port), "--metrics-port", str(metrics_port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    models = [m["id"] for m in config["models"]]
    app = ServedApp(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics", API_KEY, models, log_path, proc, config_path)
    wait_healthy(app)
    return app


def wait_healthy(app: ServedApp) -> None:
    processes.wait_healthy(f"{app.base_url}/health", app.process, STARTUP_TIMEOUT_S, app.log_tail, "serve_app")


def stop(app: ServedApp, timeout: float = 60) -> None:
    """SIGTERM the whole process group (Ray's raylet, workers, engines), then SIGKILL."""
    processes.stop_group(app.process, timeout)
