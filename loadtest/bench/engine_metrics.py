"""What the engine says about a run: prefix-cache hits over the run, from /metrics.

A client whose prompts share prefixes gets its prefills almost free, so two clients
are only comparable when neither is served from the prefix cache. Every level and
every cross-check run records the share of prompt tokens the cache served.
"""

from __future__ import annotations

import httpx

# vLLM's own server exports vllm:prefix_cache_*; under Ray Serve the same counters
# appear as ray_vllm_prefix_cache_* (or with ray_vllm: depending on the Ray version).
_SUFFIXES = {"queries": "prefix_cache_queries_total", "hits": "prefix_cache_hits_total"}


def prefix_cache_counters(metrics_url: str | None) -> dict[str, float] | None:
    """Prompt tokens looked up and found in the prefix cache so far, summed over engines."""
    if not metrics_url:
        return None
    try:
        text = httpx.get(metrics_url, timeout=10).text
    except httpx.HTTPError:
        return None
    totals = dict.fromkeys(_SUFFIXES, 0.0)
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        for key, suffix in _SUFFIXES.items():
            if name.endswith(suffix):
                totals[key] += float(line.rsplit(" ", 1)[1])
    return totals


def hit_share(before: dict[str, float] | None, after: dict[str, float] | None) -> float | None:
    """Share of the run's prompt tokens served from the prefix cache (None: not measured)."""
    if not before or not after:
        return None
    queries = after["queries"] - before["queries"]
    return round((after["hits"] - before["hits"]) / queries, 3) if queries > 0 else None
