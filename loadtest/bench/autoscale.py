"""Autoscaling run: a step load against serve_app with Serve autoscaling (1 to 2 replicas).

    python -m loadtest.bench.autoscale            # writes reports/bench/autoscaling/
    make bench-autoscale

serve_app serves the tiny model on CPU with `autoscaling: {min_replicas: 1,
max_replicas: 2}` and a low `target_ongoing_requests`, so a step from a few users to
many asks Serve for a second replica, and the step back down lets it go again. While
the load runs, a sampler records once a second:

- replicas: engine replica processes (`ray::ServeReplica:llm:LLMServer...`) alive in
  the server's session, read from /proc, so a replica counts from the moment Serve
  starts it (its engine then needs tens of seconds to load);
- queue: vLLM's `num_requests_waiting` and `num_requests_running`, summed over the
  replicas, from the server's Prometheus endpoint;
- latency: from the harness's per-request records (TTFT and end-to-end, by start time).

The result is a timeline in 5-second bins (JSON and a markdown table, plus a PNG when
matplotlib is importable) and the figures that matter: how long after the step up
the second replica started and first took load, and how long after the step down it
was removed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import engine_metrics, machine, procstats, systems
from .levels import log, run_load
from .settings import MODEL_ID, LoadProfile
from .systems import REPO

REPLICA_ROLE = "ray::ServeReplica:llm:LLMServer"
BIN_S = 5
QUEUE_METRICS = {"num_requests_waiting": "waiting", "num_requests_running": "running"}


@dataclass
class Phase:
    users: int
    seconds: int


@dataclass
class Sampler:
    """Samples replicas and engine queues once a second in a background thread."""

    sid: int
    metrics_url: str | None
    samples: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _replicas(self) -> int:
        return sum(1 for p in procstats.snapshot().values() if p.sid == self.sid and p.label.startswith(REPLICA_ROLE) and p.state != "Z")

    def _queues(self) -> dict[str, float]:
        sums = engine_metrics.engine_sums(self.metrics_url, tuple(QUEUE_METRICS), timeout=2) or {}
        return {QUEUE_METRICS[name]: value for name, value in sums.items()}

    def run(self) -> None:
        while not self._stop.is_set():
            self.samples.append({"t": time.perf_counter(), "replicas": self._replicas(), **self._queues()})
            self._stop.wait(1.0)

    def __enter__(self) -> "Sampler":
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def config(model_dir: str, target: float, upscale_delay_s: float, downscale_delay_s: float) -> dict:
    cfg = systems.serve_app_config(model_dir)
    cfg["models"][0]["autoscaling"] = {
        "min_replicas": 1,
        "max_replicas": 2,
        "target_ongoing_requests": target,
        "upscale_delay_s": upscale_delay_s,
        "downscale_delay_s": downscale_delay_s,
    }
    return cfg


def parse_phases(spec: str) -> list[Phase]:
    """'2:30,16:120,2:90' -> users:seconds phases."""
    phases = []
    for part in spec.split(","):
        users, seconds = part.split(":")
        phases.append(Phase(int(users), int(seconds)))
    return phases


def timeline(samples: list[dict], records: list[dict], phases: list[tuple[float, Phase]], t0: float) -> list[dict]:
    """5-second bins from t0: users, replicas, queue, requests started, TTFT and e2e medians."""
    end = max([s["t"] for s in samples] + [r["start"] + r["e2e_s"] for r in records] + [t0])
    bins = []
    for i in range(int((end - t0) // BIN_S) + 1):
        lo, hi = t0 + i * BIN_S, t0 + (i + 1) * BIN_S
        in_bin = [s for s in samples if lo <= s["t"] < hi]
        started = [r for r in records if lo <= r["start"] < hi]
        ok = [r for r in started if not r["error"]]
        users = next((p.users for start, p in reversed(phases) if start <= (lo + hi) / 2), 0)
        done_tokens = sum(r["output_tokens"] for r in records if not r["error"] and lo <= r["start"] + r["e2e_s"] < hi)
        bins.append({
            "t_s": i * BIN_S,
            "users": users,
            "replicas": max((s["replicas"] for s in in_bin), default=None),
            "waiting": round(statistics.fmean([s.get("waiting", 0.0) for s in in_bin]), 1) if in_bin else None,
            "running": round(statistics.fmean([s.get("running", 0.0) for s in in_bin]), 1) if in_bin else None,
            "requests": len(started),
            "errors": len(started) - len(ok),
            "ttft_p50_ms": round(1000 * statistics.median([r["ttft_s"] for r in ok if r["ttft_s"] is not None]), 1) if ok else None,
            "e2e_p50_ms": round(1000 * statistics.median([r["e2e_s"] for r in ok]), 1) if ok else None,
            "output_tok_s": round(done_tokens / BIN_S, 1),
        })
    return bins


def scaling_events(samples: list[dict], records: list[dict], phases: list[tuple[float, Phase]], t0: float) -> dict:
    """When the second replica appeared and left, relative to the steps that caused it."""
    up_at = phases[1][0] if len(phases) > 1 else None
    down_at = phases[2][0] if len(phases) > 2 else None
    second = next((s["t"] for s in samples if up_at is not None and s["t"] >= up_at and s["replicas"] >= 2), None)
    gone = next((s["t"] for s in samples if down_at is not None and s["t"] >= down_at and s["replicas"] <= 1), None)
    return {
        "step_up_s": round(up_at - t0, 1) if up_at else None,
        "second_replica_started_after_step_up_s": round(second - up_at, 1) if second and up_at else None,
        "step_down_s": round(down_at - t0, 1) if down_at else None,
        "second_replica_removed_after_step_down_s": round(gone - down_at, 1) if gone and down_at else None,
        "max_replicas_seen": max((s["replicas"] for s in samples), default=0),
        "requests": len(records),
        "errors": sum(1 for r in records if r["error"]),
    }


def markdown(result: dict) -> str:
    ev, cfg, m = result["events"], result["autoscaling"], result["machine"]
    phases = ", ".join(f"{p['users']} x {p['seconds']}" for p in result["phases"])
    load_avg = ", ".join(f"{x:.2f}" for x in m["load_average_at_start"] or [])
    lines = [
        "# Autoscaling run: serve_app, 1 to 2 CPU replicas under a step load",
        "",
        f"Generated by `python -m loadtest.bench.autoscale` (`make bench-autoscale`) at {result['generated_at']}. Do not edit by hand.",
        "",
        f"- Machine: {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB; load average at start {load_avg}.",
        f"- Model: `{MODEL_ID}` (the embedded tiny Llama) on the CPU engine; Serve autoscaling `min_replicas: 1`, `max_replicas: 2`, "
        f"`target_ongoing_requests: {cfg['target_ongoing_requests']}`, `upscale_delay_s: {cfg['upscale_delay_s']}`, `downscale_delay_s: {cfg['downscale_delay_s']}`.",
        f"- Load: the project's Locust harness, streaming `/v1/completions`, closed loop, {result['profile']['prompt_words']}-word prompts, "
        f"{result['profile']['max_tokens']} output tokens; phases (users x seconds): {phases}.",
        "- Replicas = engine replica processes alive (counted from the moment Serve starts one; its engine then loads for tens of seconds). "
        "Queue = vLLM's waiting and running requests summed over replicas. Latencies are medians of requests started in the bin.",
        "",
        "## What happened",
        "",
        f"- Step up at {ev['step_up_s']} s: the second replica started {ev['second_replica_started_after_step_up_s']} s later.",
        f"- Step down at {ev['step_down_s']} s: the second replica was removed {ev['second_replica_removed_after_step_down_s']} s later "
        f"(`downscale_delay_s` is {cfg['downscale_delay_s']} s).",
        f"- Requests: {ev['requests']}, errors: {ev['errors']}; most replicas seen: {ev['max_replicas_seen']}.",
        "",
        "How to read it: Serve decides on the ongoing requests averaged over its look-back window, so the second replica starts "
        "tens of seconds after the step, not `upscale_delay_s` after it, and then loads its engine. On a 2-core machine a second CPU "
        "replica adds no compute (both engines share the same cores), so throughput does not rise here: the run shows the control "
        "loop (when Serve scales out and in, that no request fails while it does), not capacity. vLLM's gauges reach the metrics "
        "endpoint through Ray's exporter every few seconds, hence the steps in the queue columns.",
        "",
        "## Timeline (5-second bins)",
        "",
        "| t (s) | users | replicas | waiting | running | requests | errors | TTFT p50 (ms) | e2e p50 (ms) | output tok/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in result["timeline"]:
        cells = [b["t_s"], b["users"], b["replicas"], b["waiting"], b["running"], b["requests"], b["errors"], b["ttft_p50_ms"], b["e2e_p50_ms"], b["output_tok_s"]]
        lines.append("| " + " | ".join("–" if c is None else f"{c:,}" if isinstance(c, (int, float)) else str(c) for c in cells) + " |")
    lines += ["", f"Plot: {'![timeline](timeline.png)' if result.get('plot') else 'not drawn (matplotlib is not installed in this environment).'}", ""]
    return "\n".join(lines)


def plot(result: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    tl = result["timeline"]
    t = [b["t_s"] for b in tl]
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    def series(key: str) -> list[float]:  # a bin without samples is a gap, not a zero
        return [float("nan") if b[key] is None else b[key] for b in tl]

    ax1.step(t, series("users"), where="post", label="users")
    ax1.step(t, series("replicas"), where="post", label="replicas")
    ax1.plot(t, series("running"), label="running in engines")
    ax1.plot(t, series("waiting"), label="waiting in engines")
    ax1.legend(loc="upper right")
    ax1.set_ylabel("count")
    ax2.plot(t, series("ttft_p50_ms"), label="TTFT p50 (ms)")
    ax2.plot(t, series("e2e_p50_ms"), label="e2e p50 (ms)")
    ax2.set_ylabel("ms")
    ax2.set_xlabel("seconds")
    ax2.legend(loc="upper right")
    fig.suptitle("serve_app autoscaling under a step load")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def run_phases(running: systems.Running, phases: list[Phase], profile: LoadProfile, raw: Path) -> tuple[list[dict], list[tuple[float, Phase]]]:
    records, started = [], []
    for i, phase in enumerate(phases):
        started.append((time.perf_counter(), phase))
        log(f"phase {i + 1}/{len(phases)}: {phase.users} users for {phase.seconds} s")
        out = raw / f"phase-{i + 1}"
        run_load(running.base_url, phase.users, phase.seconds, out, profile)
        records += json.loads((out / "records.json").read_text())
    return records, started


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m loadtest.bench.autoscale", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO / "reports" / "bench" / "autoscaling")
    p.add_argument("--phases", default="2:30,16:150,2:90", help="users:seconds,... (default: %(default)s)")
    p.add_argument("--target-ongoing", type=float, default=4.0, help="Serve target_ongoing_requests (default: %(default)s)")
    p.add_argument("--upscale-delay", type=float, default=5.0, help="Serve upscale_delay_s (default: %(default)s)")
    p.add_argument("--downscale-delay", type=float, default=30.0, help="Serve downscale_delay_s (default: %(default)s)")
    p.add_argument("--render-only", action="store_true", help="only rewrite README.md (and the plot) from results.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from serve_app.tiny_model import ensure_model

    args = parse_args(argv)
    if args.render_only:
        result = json.loads((args.out / "results.json").read_text())
        result["plot"] = plot(result, args.out / "timeline.png")
        (args.out / "README.md").write_text(markdown(result))
        return 0
    phases = parse_phases(args.phases)
    profile = LoadProfile.full()
    raw = args.out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    model_dir = str(ensure_model())
    cfg = config(model_dir, args.target_ongoing, args.upscale_delay, args.downscale_delay)
    log("starting serve_app with autoscaling 1..2")
    running = systems.start("serve_app", model_dir, raw / "server", serve_config=cfg)
    try:
        t0 = time.perf_counter()
        with Sampler(running.sid, running.metrics_url) as sampler:
            records, started = run_phases(running, phases, profile, raw)
            time.sleep(args.downscale_delay + 15)  # let the scale-down show in the timeline
        samples = sampler.samples
    finally:
        systems.stop(running)
    result = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine.info(),
        "autoscaling": cfg["models"][0]["autoscaling"],
        "profile": {"prompt_words": profile.prompt_words, "max_tokens": profile.max_tokens, "kind": profile.kind},
        "phases": [{"users": p.users, "seconds": p.seconds} for p in phases],
        "startup_s": running.startup_s,
        "events": scaling_events(samples, records, started, t0),
        "timeline": timeline(samples, records, started, t0),
    }
    result["plot"] = plot(result, args.out / "timeline.png")
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "README.md").write_text(markdown(result))
    log(f"wrote {args.out / 'README.md'}")
    return 0 if result["events"]["errors"] == 0 and result["events"]["max_replicas_seen"] >= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
