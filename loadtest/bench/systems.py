"""The systems under test: how each is started, checked ready and stopped.

Every system runs as one process tree in its own session (``start_new_session``), so
stopping it is one SIGTERM to its process group, and anything left afterwards in that
session (Ray's raylet, workers, engine processes) is ours to SIGKILL by pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from serve_app.defaults import tiny_vllm_flags

from . import procstats
from .settings import ENGINE, MODEL_ID, RAY_NUM_CPUS

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 600

DESCRIPTIONS = {
    "serve_app": "this project's serve_app under Ray Serve (python -m serve_app --config, auth off)",
    "vllm": "vLLM's own OpenAI server (python -m vllm.entrypoints.openai.api_server): the limit",
    "peer": "plain ray.serve.llm.build_openai_app with an equivalent LLMConfig: the peer",
    "naive": "Ray Serve deployment running transformers generate() one request at a time: the floor",
    "ablation": "serve_app's build with one piece swapped (investigation only; see loadtest/bench/ablation_app.py)",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app_config(model_dir: str) -> dict:
    return {
        "models": [
            {
                "id": MODEL_ID,
                "source": model_dir,
                "engine": dict(ENGINE),
                "accelerator": {"kind": "CPU"},
                "autoscaling": {"min_replicas": 1, "max_replicas": 1},
            }
        ],
        "auth": {"enabled": False},
    }


def vllm_args(model_dir: str) -> list[str]:
    return ["--model", model_dir, "--served-model-name", MODEL_ID, *tiny_vllm_flags()]


@dataclass
class Running:
    name: str
    base_url: str
    metrics_url: str | None
    log_path: Path
    process: subprocess.Popen = field(repr=False)
    command: list[str] = field(default_factory=list)
    startup_s: float = 0.0

    @property
    def sid(self) -> int:
        return self.process.pid

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def command_for(name: str, model_dir: str, workdir: Path, port: int, metrics_port: int, serve_config: dict | None = None) -> tuple[list[str], str | None]:
    """The argv that starts a system, and its metrics URL (``serve_config`` replaces serve_app's)."""
    py = sys.executable
    if name == "serve_app":
        config = workdir / "serve_app.yaml"
        config.write_text(yaml.safe_dump(serve_config or serve_app_config(model_dir)))
        argv = [py, "-m", "serve_app", "--config", str(config), "--port", str(port), "--metrics-port", str(metrics_port), "--num-cpus", str(RAY_NUM_CPUS)]
        return argv, f"http://127.0.0.1:{metrics_port}/metrics"
    if name == "vllm":
        argv = [py, "-m", "vllm.entrypoints.openai.api_server", *vllm_args(model_dir), "--host", "127.0.0.1", "--port", str(port)]
        return argv, f"http://127.0.0.1:{port}/metrics"
    if name == "ablation":
        config = workdir / "serve_app.yaml"
        config.write_text(yaml.safe_dump(serve_app_config(model_dir)))
        argv = [py, "-m", "loadtest.bench.ablation_app", "--config", str(config), "--port", str(port), "--metrics-port", str(metrics_port), "--num-cpus", str(RAY_NUM_CPUS)]
        return argv, f"http://127.0.0.1:{metrics_port}/metrics"
    if name in ("peer", "naive"):
        module = {"peer": "loadtest.bench.peer_app", "naive": "loadtest.bench.naive_app"}[name]
        argv = [py, "-m", module, "--model-dir", model_dir, "--model-id", MODEL_ID, "--port", str(port), "--metrics-port", str(metrics_port), "--num-cpus", str(RAY_NUM_CPUS)]
        return argv, f"http://127.0.0.1:{metrics_port}/metrics"
    raise ValueError(f"unknown system {name!r}")


def _lower_priority(nice: int) -> None:
    """Runs in the server's fresh session, before exec.

    With the kernel's autogroup scheduling on (most desktop and VM kernels), a new
    session is its own scheduling group and nice values only count inside it: the
    session's group nice (/proc/self/autogroup) is what weighs it against the load
    generator's session.
    """
    os.nice(nice)
    try:
        Path("/proc/self/autogroup").write_text(str(nice))
    except OSError:
        pass  # no autogroup scheduling: the process nice above is what counts


def start(name: str, model_dir: str, workdir: Path, extra_env: dict[str, str] | None = None, nice: int = 0, serve_config: dict | None = None) -> Running:
    workdir.mkdir(parents=True, exist_ok=True)
    port, metrics_port = free_port(), free_port()
    argv, metrics_url = command_for(name, model_dir, workdir, port, metrics_port, serve_config)
    log_path = workdir / "server.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    env.update(extra_env or {})
    t0 = time.monotonic()
    with log_path.open("w") as log:
        # nice > 0 lowers the whole server tree's priority, so the load generator is not
        # starved by an engine that busy-polls (see docs/benchmarks.md).
        preexec = (lambda: _lower_priority(nice)) if nice else None
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec)
    running = Running(name, f"http://127.0.0.1:{port}", metrics_url, log_path, proc, argv)
    try:
        wait_ready(running)
    except BaseException:
        stop(running)
        raise
    running.startup_s = round(time.monotonic() - t0, 1)
    return running


def wait_ready(running: Running) -> None:
    """Ready = the model is listed and a one-token completion streams back."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    body = {"model": MODEL_ID, "prompt": "hello", "max_tokens": 1, "stream": False}
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError(f"{running.name} exited with {running.process.returncode}:\n{running.log_tail()}")
        try:
            models = httpx.get(f"{running.base_url}/v1/models", timeout=5)
            if models.status_code == 200 and any(m.get("id") == MODEL_ID for m in models.json().get("data", [])):
                if httpx.post(f"{running.base_url}/v1/completions", json=body, timeout=60).status_code == 200:
                    return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(2)
    raise TimeoutError(f"{running.name} not ready after {STARTUP_TIMEOUT_S}s:\n{running.log_tail()}")


def session_pids(sid: int) -> list[int]:
    return [p.pid for p in procstats.snapshot().values() if p.sid == sid and p.pid != os.getpid() and p.state != "Z"]


def stop(running: Running, timeout: float = 30) -> None:
    """SIGTERM the server's leader, wait, then SIGKILL whatever is left of our session.

    Only the leader is signalled first: serve_app drains its streams on SIGTERM, which
    needs Ray's processes alive (a signal to the whole group would kill them under it).
    """
    pgid = running.process.pid
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGTERM)
        try:
            running.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 20
    while (left := session_pids(running.sid)) and time.monotonic() < deadline:
        for pid in left:  # started by us, in the session we created
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
    running.process.wait()
