"""The harness cross-checked against vLLM's own benchmark client on one vLLM server.

The two clients take turns (harness, client, harness, ...) against the same running
server, each sending fresh prompts of the same kind (loadtest.prompts), so neither is
served from the prefix cache. On a machine with two or more cores the load generator
gets a core of its own for the cross-check and the server the rest: on a 2-core box
the busy-polling CPU engine otherwise starves whichever client is running, and the
comparison measures scheduling luck (docs/benchmarks.md, "Cross-check").
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from loadtest import prompts

from . import compare, engine_metrics, procstats, systems
from .levels import brief, measure_level
from .settings import CROSSCHECK_CONCURRENCY, MODEL_ID, LoadProfile


def split_cpus() -> tuple[set[int], set[int]] | None:
    """(client CPUs, server CPUs): the last CPU for the load generator, the rest for the server."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return {cpus[-1]}, set(cpus[:-1])


def _pin_session(sid: int, cpus: set[int]) -> None:
    """Every thread of the server's session onto ``cpus`` (threads started later inherit it)."""
    for pid in systems.session_pids(sid):
        with contextlib.suppress(FileNotFoundError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.sched_setaffinity(int(tid), cpus)


@contextlib.contextmanager
def separate_cores(running: systems.Running) -> Iterator[dict | None]:
    """Load generator (this process and its children) and server on separate CPUs for a while."""
    split = split_cpus()
    if split is None:
        yield None
        return
    client, server = split
    mine = os.sched_getaffinity(0)
    _pin_session(running.sid, server)
    os.sched_setaffinity(0, client)
    try:
        yield {"client_cpus": sorted(client), "server_cpus": sorted(server)}
    finally:
        os.sched_setaffinity(0, mine)
        _pin_session(running.sid, mine)


def vllm_bench_client(running: systems.Running, model_dir: str, users: int, num_prompts: int, out: Path, profile: LoadProfile) -> dict:
    """One run of vLLM's own benchmark client; its figures in the harness's units.

    It sends the harness's kind of prompt, freshly drawn for this run (vLLM's "custom"
    dataset), so neither client is served from the prefix cache (see loadtest.prompts).
    """
    out.mkdir(parents=True, exist_ok=True)
    dataset = prompts.write_jsonl(out / "prompts.jsonl", num_prompts, profile.prompt_words)
    argv = [
        sys.executable, "-m", "loadtest.bench.vllm_client",
        "--base-url", running.base_url, "--endpoint", "/v1/completions", "--backend", "openai",
        "--model", MODEL_ID, "--tokenizer", model_dir,
        "--dataset-name", "custom", "--dataset-path", str(dataset), "--custom-output-len", str(profile.max_tokens),
        "--skip-chat-template", "--ignore-eos",
        "--max-concurrency", str(users), "--num-prompts", str(num_prompts), "--request-rate", "inf",
        "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,99",
        "--save-result", "--result-dir", str(out), "--result-filename", "vllm_bench.json", "--disable-tqdm",
    ]
    cache_before = engine_metrics.prefix_cache_counters(running.metrics_url)
    meter = procstats.CpuMeter(running.sid)
    meter.start()
    with (out / "vllm_bench.log").open("w") as f:
        code = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(systems.REPO)}).returncode
    cpu = meter.stop()
    cache_share = engine_metrics.hit_share(cache_before, engine_metrics.prefix_cache_counters(running.metrics_url))
    if code != 0 or not (out / "vllm_bench.json").is_file():
        raise RuntimeError(f"vllm bench client exited {code}; see {out / 'vllm_bench.log'}")
    bench = json.loads((out / "vllm_bench.json").read_text())
    return {
        "output_tok_s": round(bench["output_throughput"], 2),
        "req_s": round(bench["request_throughput"], 3),
        "ttft_ms": {"p50": round(bench["median_ttft_ms"], 3), "p99": round(bench.get("p99_ttft_ms", 0), 3), "mean": round(bench["mean_ttft_ms"], 3)},
        "tpot_ms": {"p50": round(bench["median_tpot_ms"], 3)},
        "itl_ms": {"p50": round(bench["median_itl_ms"], 3)},
        "requests": bench["completed"],
        "errors": num_prompts - bench["completed"],
        "duration_s": round(bench["duration"], 3),
        "prompt_tokens_mean": round(bench["total_input_tokens"] / bench["completed"], 1) if bench["completed"] else None,
        "prefix_cache_hit_share": cache_share,
        # The client's own start-up (imports, tokenizer, dataset) falls inside this window.
        "other_cpu_share": cpu.get("other_cpu_share"),
    }


def crosscheck(running: systems.Running, model_dir: str, harness_level: dict, seconds: int, raw: Path, profile: LoadProfile, rounds: int) -> dict:
    """vLLM's own client vs the harness at the same concurrency against the same server.

    The two clients alternate (harness, client, harness, client, ..., harness), so drift
    in the machine's background load hits both. All runs, the first harness run
    included, happen with the cores split (the sweep's own level is not reused: it ran
    on shared cores).
    """
    users = CROSSCHECK_CONCURRENCY
    num_prompts = max(32, round(harness_level["req_s"] * seconds))
    harness_runs: list[dict] = []
    client_runs: list[dict] = []
    with separate_cores(running) as cores:
        try:
            harness_runs.append(brief(measure_level(running, users, seconds, raw / "crosscheck-harness0", profile)))
            time.sleep(profile.settle_s)
            for i in range(1, rounds + 1):
                client_runs.append(vllm_bench_client(running, model_dir, users, num_prompts, raw / f"crosscheck-client{i}", profile))
                time.sleep(profile.settle_s)
                harness_runs.append(brief(measure_level(running, users, seconds, raw / f"crosscheck-harness{i}", profile)))
                time.sleep(profile.settle_s)
        except RuntimeError as e:
            return {"error": str(e)}

    return {
        "concurrency": users,
        "input_len": harness_level["prompt_tokens_mean"],
        "dataset": "custom",
        "cores": cores,
        "output_len": profile.max_tokens,
        "num_prompts": num_prompts,
        "harness_runs": harness_runs,
        "vllm_bench_client_runs": client_runs,
        **compare.compare(harness_runs, client_runs),
    }
