"""Summarise a load run's per-request records into the figures the README reports."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

# Above this p99 event-loop lag (loadtest/lag.py) the run's figures say more about the
# load generator than about the endpoint.
STARVED_P99_MS = 100.0


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no data."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _ms(values: list[float]) -> dict[str, float | None]:
    out = {f"p{q}": percentile(values, q) for q in (50, 90, 95, 99)}
    out["mean"] = statistics.fmean(values) if values else None
    return {k: (round(v * 1000, 3) if v is not None else None) for k, v in out.items()}


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in records if not r["error"]]
    if ok:
        first = min(r["start"] for r in records)
        last = max(r["start"] + r["e2e_s"] for r in records)
        wall = last - first
    else:
        wall = 0.0
    output_tokens = sum(r["output_tokens"] for r in ok)
    return {
        "requests": len(records),
        "failures": len(records) - len(ok),
        "error_rate": (len(records) - len(ok)) / len(records) if records else 0.0,
        "duration_s": round(wall, 3),
        "output_tokens": output_tokens,
        "prompt_tokens": sum(r["prompt_tokens"] or 0 for r in ok),
        "output_tokens_per_s": round(output_tokens / wall, 2) if wall else 0.0,
        "requests_per_s": round(len(ok) / wall, 3) if wall else 0.0,
        "ttft_ms": _ms([r["ttft_s"] for r in ok if r["ttft_s"] is not None]),
        "itl_ms": _ms([x for r in ok for x in r["itl_s"]]),
        "tpot_ms": _ms([r["tpot_s"] for r in ok if r["tpot_s"] is not None]),
        "e2e_ms": _ms([r["e2e_s"] for r in ok]),
    }


def summarise_file(records_path: Path, summary_path: Path, target_requests_per_s: float | None = None, lag_path: Path | None = None) -> dict[str, Any]:
    summary = summarise(json.loads(records_path.read_text()))
    # Paced runs: the target next to requests_per_s, so a server that fell behind shows.
    summary["target_requests_per_s"] = target_requests_per_s
    # How late the load generator's own event loop ran (loadtest/lag.py).
    summary["client_lag_ms"] = _ms(json.loads(lag_path.read_text())) if lag_path and lag_path.is_file() else None
    summary_path.write_text(json.dumps(summary, indent=2))
    return summary
