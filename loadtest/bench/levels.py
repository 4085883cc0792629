"""One measured level: the harness at N users against a running system, with the
CPU it cost and the engine's prefix-cache hits over the same window."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Iterator

from loadtest import run as harness

from . import engine_metrics, procstats, pyspy, systems
from .settings import MODEL_ID, LoadProfile


def log(msg: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {msg}", flush=True)


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's and its children's stdout/stderr to a file for a while."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("w") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_load(base_url: str, users: int, seconds: int, out: Path, profile: LoadProfile) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    args = harness.parse_args([
        "--url", base_url, "--out", str(out), "--model", MODEL_ID, "--kind", profile.kind,
        "--users", str(users), "--duration", str(seconds),
        "--prompt-words", str(profile.prompt_words), "--max-tokens", str(profile.max_tokens),
    ])
    with output_to(out / "locust.log"):
        return harness.run(args)


def level_result(summary: dict, records: list[dict], cpu: dict, profile: LoadProfile, users: int) -> dict:
    ok = [r for r in records if not r["error"]]
    prompt = [r["prompt_tokens"] for r in ok if r.get("prompt_tokens")]
    tokens = summary["output_tokens"]
    return {
        "concurrency": users,
        "output_tok_s": summary["output_tokens_per_s"],
        "req_s": summary["requests_per_s"],
        "ttft_ms": {"p50": summary["ttft_ms"]["p50"], "p99": summary["ttft_ms"]["p99"], "mean": summary["ttft_ms"]["mean"]},
        "itl_ms": {"p50": summary["itl_ms"]["p50"], "p99": summary["itl_ms"]["p99"], "mean": summary["itl_ms"]["mean"]},
        "tpot_ms": {"p50": summary["tpot_ms"]["p50"], "p99": summary["tpot_ms"]["p99"]},
        "e2e_ms": {"p50": summary["e2e_ms"]["p50"], "p99": summary["e2e_ms"]["p99"]},
        "requests": summary["requests"],
        "errors": summary["failures"],
        "output_tokens": tokens,
        "exact_output_length": all(r["output_tokens"] == profile.max_tokens for r in ok),
        "prompt_tokens_mean": round(sum(prompt) / len(prompt), 1) if prompt else None,
        "duration_s": summary["duration_s"],
        "client_lag_ms": summary.get("client_lag_ms"),
        "cpu": cpu,
        "server_cpu_ms_per_token": round(cpu["server_cpu_s"] * 1000 / tokens, 3) if tokens and cpu else None,
    }


def measure_level(running: systems.Running, users: int, seconds: int, out: Path, profile: LoadProfile, profile_roles: list[str] | None = None) -> dict:
    cache_before = engine_metrics.prefix_cache_counters(running.metrics_url)
    meter = procstats.CpuMeter(running.sid)
    meter.start()
    # py-spy, if asked: sample the middle of the level, clear of ramp-up and drain.
    spies = pyspy.start(running.sid, profile_roles or [], max(1, seconds - 4), out / "pyspy") if profile_roles else []
    summary = run_load(running.base_url, users, seconds, out, profile)
    cpu = meter.stop()
    records = json.loads((out / "records.json").read_text())
    result = level_result(summary, records, cpu, profile, users)
    result["prefix_cache_hit_share"] = engine_metrics.hit_share(cache_before, engine_metrics.prefix_cache_counters(running.metrics_url))
    if spies:
        result["pyspy"] = pyspy.finish(spies)
    return result


def brief(level: dict) -> dict:
    """The figures the cross-check compares, from a full level result."""
    keys = ("output_tok_s", "req_s", "ttft_ms", "tpot_ms", "itl_ms", "requests", "errors", "duration_s", "prompt_tokens_mean", "prefix_cache_hit_share")
    return {k: level.get(k) for k in keys} | {"other_cpu_share": level["cpu"].get("other_cpu_share")}
