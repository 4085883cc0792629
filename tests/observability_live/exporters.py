"""The real exporters the observability chart reads, driven and scraped for the serve tier.

Two sources of engine metrics exist in the stack, and both run here for real:
- serve_app (Ray Serve + vLLM CPU engines), whose Ray metrics endpoint exports
  `ray_serve_*` and the engines' `ray_vllm_*` series;
- vLLM's own OpenAI server (what vllm-standalone runs), exporting `vllm:*` and the
  HTTP server's `http_requests_total`.

Traffic covers what makes series appear: completions streamed and not, both
models, an error, and one long prompt sent repeatedly so the prefix cache hits.
Ray exports a counter only after its first increment and with a delay of seconds,
so its endpoint is polled until the expected names appear (or a timeout).

Two documented lists say which referenced names are not expected from those scrapes:
EXTERNAL_EXPORTERS (DCGM exporter, kube-state-metrics: they need GPUs or a cluster)
and EVENT_ONLY (series that only an event this harness cannot provoke creates).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from serve_app.defaults import tiny_vllm_flags
from tests.support import processes

# ---------------------------------------------------------------- documented exceptions

# Metric names of exporters that cannot run in the serve tier (no GPU, no cluster).
# They are checked only for being on this list: add a name here only after reading it in
# the exporter's own metric list (DCGM: dcgm-exporter's default-counters.csv;
# kube-state-metrics: docs/metrics/workload/pod-metrics.md).
EXTERNAL_EXPORTERS = {
    "DCGM_FI_DEV_GPU_UTIL": "dcgm-exporter default counter: GPU utilisation (%)",
    "DCGM_FI_DEV_FB_USED": "dcgm-exporter default counter: framebuffer memory used (MiB)",
    "DCGM_FI_DEV_FB_FREE": "dcgm-exporter default counter: framebuffer memory free (MiB)",
    "DCGM_FI_DEV_POWER_USAGE": "dcgm-exporter default counter: power draw (W)",
    "DCGM_FI_DEV_GPU_TEMP": "dcgm-exporter default counter: GPU temperature (C)",
    "DCGM_FI_DEV_MEM_COPY_UTIL": "dcgm-exporter default counter: memory copy utilisation (%)",
    "kube_pod_container_status_restarts_total": "kube-state-metrics pod metric: container restarts",
    "kube_pod_container_resource_requests": "kube-state-metrics pod metric: requested resources (label resource, e.g. nvidia_com_gpu)",
}
EXTERNAL_PREFIXES = ("DCGM_FI_", "kube_")
# Series Prometheus itself writes for every scrape target; no exporter serves them. The
# pods tier's live Prometheus checks the rules that read them (LLMEnginesDown fires).
PROMETHEUS_SERIES = {
    "up": "1 when the target's last scrape succeeded, else 0",
}

# Referenced series that appear only after an event the serve tier cannot provoke.
# Each names its vLLM twin, which the vLLM server does export (checked), so the
# name is known to be right.
EVENT_ONLY = {
    "ray_vllm_num_preemptions_total": (
        "vllm:num_preemptions_total",
        "Ray exports a counter only after its first increment, and a preemption needs an "
        "exhausted KV cache: serve_app's test engines have 256 MiB of KV cache (~262k tokens "
        "of the tiny model) for at most 64 sequences of 2048 tokens, so none can happen.",
    ),
}

# ---------------------------------------------------------------- traffic

MAX_TOKENS = 8
SHORT_PROMPT = "Tell me about the scheduler."
# Longer than two KV cache blocks of the CPU backend (128 tokens each), so repeating it
# hits the prefix cache.
LONG_PROMPT = " ".join(
    f"Request {i} goes from the ingress to the router, which picks a replica; the engine schedules it, "
    "fills the KV cache and streams tokens back to the client."
    for i in range(1, 13)
)
PREFIX_REPEATS = 3
RAY_POLL_TIMEOUT_S = 120
RAY_POLL_INTERVAL_S = 5
VLLM_STARTUP_TIMEOUT_S = 600
VLLM_MODEL = "tiny-llama"


def completions(client: httpx.Client, model: str) -> list[int]:
    """Non-streaming and streaming requests to one model, plus repeated long prompts; returns status codes."""
    codes = []
    r = client.post("/v1/completions", json={"model": model, "prompt": SHORT_PROMPT, "max_tokens": MAX_TOKENS})
    codes.append(r.status_code)
    with client.stream("POST", "/v1/chat/completions", json={
        "model": model, "messages": [{"role": "user", "content": SHORT_PROMPT}], "max_tokens": MAX_TOKENS, "stream": True,
    }) as stream:
        for _ in stream.iter_lines():
            pass
        codes.append(stream.status_code)
    for _ in range(PREFIX_REPEATS):
        r = client.post("/v1/completions", json={"model": model, "prompt": LONG_PROMPT, "max_tokens": 2})
        codes.append(r.status_code)
    return codes


def error_request(client: httpx.Client) -> int:
    """A request for a model nobody serves: a 404 through the whole HTTP path."""
    return client.post("/v1/completions", json={"model": "no-such-model", "prompt": SHORT_PROMPT, "max_tokens": 1}).status_code


# ---------------------------------------------------------------- scraping

@dataclass
class Scrape:
    """Sample names (as on the wire: `_total`, `_bucket`, ...) and their label names."""

    text: str
    labels: dict[str, set[str]] = field(default_factory=dict)  # sample name -> label names seen
    values: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # sample name -> label -> values

    @classmethod
    def parse(cls, text: str) -> "Scrape":
        scrape = cls(text)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                scrape.labels.setdefault(sample.name, set()).update(sample.labels)
                per_label = scrape.values.setdefault(sample.name, {})
                for key, value in sample.labels.items():
                    per_label.setdefault(key, set()).add(value)
        return scrape

    @property
    def names(self) -> set[str]:
        return set(self.labels)


def scrape(url: str) -> Scrape:
    r = httpx.get(url, timeout=30)
    r.raise_for_status()
    return Scrape.parse(r.text)


def scrape_until(
    url: str, wanted: Iterable[str], timeout: float = RAY_POLL_TIMEOUT_S, until: Callable[[Scrape], bool] = lambda s: True
) -> Scrape:
    """Scrape until every wanted name is present and ``until`` holds, or the timeout passes.

    Ray exports on a period, so a name that earlier traffic already created can be on
    the wire before this session's samples are: ``until`` waits for those.
    """
    wanted = set(wanted)
    deadline = time.monotonic() + timeout
    while True:
        current = scrape(url)
        if (wanted <= current.names and until(current)) or time.monotonic() > deadline:
            return current
        time.sleep(RAY_POLL_INTERVAL_S)


# ---------------------------------------------------------------- vLLM's own server

@dataclass
class VllmServer:
    base_url: str
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    @property
    def metrics_url(self) -> str:
        return f"{self.base_url}/metrics"

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def start_vllm(model_dir: str, port: int, workdir: Path, api_key: str | None = None) -> VllmServer:
    """`python -m vllm.entrypoints.openai.api_server` on the tiny model, in its own process group."""
    log_path = workdir / "vllm-server.log"
    log = log_path.open("w")
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", model_dir, "--served-model-name", VLLM_MODEL,
        *tiny_vllm_flags(),
        "--port", str(port), "--host", "127.0.0.1",
        *(["--api-key", api_key] if api_key else []),
    ]
    process = subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ})
    server = VllmServer(f"http://127.0.0.1:{port}", log_path, process)
    processes.wait_healthy(f"{server.base_url}/health", process, VLLM_STARTUP_TIMEOUT_S, server.log_tail, "vLLM server")
    return server


def stop_vllm(server: VllmServer, timeout: float = 60) -> None:
    """SIGTERM the server's process group (API server and engine core), then SIGKILL."""
    processes.stop_group(server.process, timeout)


# ---------------------------------------------------------------- the check

def expected_exporter(name: str) -> str:
    """Which scrape must show a referenced name: `ray`, `vllm`, `external` (allowlist) or
    `prometheus` (Prometheus's own per-target series, in no scrape)."""
    if name in PROMETHEUS_SERIES:
        return "prometheus"
    if name.startswith(EXTERNAL_PREFIXES):
        return "external"
    if name.startswith("ray_"):
        return "ray"
    return "vllm"


def missing_names(references: dict[str, list[str]], exporter: str, scrape: Scrape | None) -> dict[str, list[str]]:
    """Referenced names that `exporter` (ray, vllm or external) should export and does not,
    unless a documented list excuses them; `scrape` is that exporter's scrape (None for external)."""
    exported = set(EXTERNAL_EXPORTERS) if exporter == "external" else scrape.names
    return {
        name: origins for name, origins in sorted(references.items())
        if expected_exporter(name) == exporter and name not in exported and name not in EVENT_ONLY
    }


def describe(missing: dict[str, list[str]]) -> str:
    return json.dumps(missing, indent=2)
