"""Harness vs vLLM's benchmark client: differences that survive a noisy shared machine.

The cross-check alternates the two clients against one running server: harness 1,
client 1, harness 2, client 2, harness 3. Each client run is compared with the mean
of the two harness runs that bracket it (A-B-A), which cancels slow drift in the
machine's background load. The goal is judged on the means over all runs; the pairs
show how much single runs move.

TTFT p50 is a fragile statistic for this workload: with identical requests in a closed
loop the users fall into step (most requests start within a few ms of another), so
the TTFT distribution is wide and bimodal (first-in-wave vs queued behind the wave's
prefills) and its median jumps between the modes from run to run. TTFT mean is stable.
"""

from __future__ import annotations

from typing import Any

METRICS = {
    "output_tok_s": ("output_tok_s",),
    "ttft_p50": ("ttft_ms", "p50"),
    "ttft_mean": ("ttft_ms", "mean"),
    "tpot_p50": ("tpot_ms", "p50"),
}
GOAL_PCT = 10.0


def _get(run: dict, path: tuple[str, ...]) -> float:
    v: Any = run
    for k in path:
        v = v[k]
    return float(v)


def pct(a: float, b: float) -> float | None:
    return round((a - b) / b * 100, 1) if b else None


def compare(harness_runs: list[dict], client_runs: list[dict]) -> dict:
    def mean(runs: list[dict], path: tuple[str, ...]) -> float:
        return sum(_get(r, path) for r in runs) / len(runs)

    pairs = []
    for i, client in enumerate(client_runs):
        bracket = harness_runs[i : i + 2]
        if not bracket:
            continue
        load = [client.get("other_cpu_share") or 0.0] + [h.get("other_cpu_share") or 0.0 for h in bracket]
        pairs.append({
            "client_run": i + 1,
            "harness_runs": [i + 1 + j for j in range(len(bracket))],
            "max_other_load": round(max(load), 3),
            "diff_pct": {k: pct(mean(bracket, p), _get(client, p)) for k, p in METRICS.items()},
        })
    quietest = min(pairs, key=lambda p: p["max_other_load"]) if pairs else None
    spread = {
        k: pct(max(_get(r, p) for r in harness_runs), min(_get(r, p) for r in harness_runs)) if len(harness_runs) > 1 else None
        for k, p in METRICS.items()
    }
    return {
        "harness_mean": {k: round(mean(harness_runs, p), 3) for k, p in METRICS.items()},
        "vllm_bench_client_mean": {k: round(mean(client_runs, p), 3) for k, p in METRICS.items()} if client_runs else {},
        "mean_diff_pct": {k: pct(mean(harness_runs, p), mean(client_runs, p)) for k, p in METRICS.items()} if client_runs else {},
        "pairs": pairs,
        "quietest_pair": quietest,
        # Per metric, on the means over all runs: is the harness within GOAL_PCT of the client?
        "within_goal": {
            k: (v is not None and abs(v) <= GOAL_PCT)
            for k, v in ({k: pct(mean(harness_runs, p), mean(client_runs, p)) for k, p in METRICS.items()} if client_runs else {}).items()
        },
        "harness_spread_pct": spread,
    }
