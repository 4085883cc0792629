"""vLLM's engine metrics, read from a system's /metrics: one reader for the benchmark.

vLLM's own server exports ``vllm:<name>``; under Ray Serve the same series come back
through Ray's exporter as ``ray_vllm_<name>`` (or ``ray_vllm:<name>``). Names are
matched exactly, after the prefix: a suffix match would also count, say,
``vllm:external_prefix_cache_hits_total`` into ``prefix_cache_hits_total``.

The prefix cache matters to every comparison: a client whose prompts share prefixes
gets its prefills almost free, so two clients are only comparable when neither is
served from the cache. Every level and every cross-check run records the share of
prompt tokens the cache served.
"""

from __future__ import annotations

import httpx

PREFIXES = ("vllm:", "vllm_", "ray_vllm:", "ray_vllm_")


def engine_sums(metrics_url: str | None, names: tuple[str, ...], timeout: float = 10) -> dict[str, float] | None:
    """Each metric in ``names`` (without prefix) summed over its series and engines.

    A name with no series on the endpoint is left out; None when there is no endpoint
    or it cannot be read.
    """
    if not metrics_url:
        return None
    try:
        text = httpx.get(metrics_url, timeout=timeout).text
    except httpx.HTTPError:
        return None
    wanted = {prefix + name: name for name in names for prefix in PREFIXES}
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name = wanted.get(line.split("{", 1)[0].split(" ", 1)[0])
        if name:
            sums[name] = sums.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return sums


def prefix_cache_counters(metrics_url: str | None) -> dict[str, float] | None:
    """Prompt tokens looked up (queries) and found (hits) in the prefix cache so far."""
    sums = engine_sums(metrics_url, ("prefix_cache_queries_total", "prefix_cache_hits_total"))
    if sums is None:
        return None
    return {"queries": sums.get("prefix_cache_queries_total", 0.0), "hits": sums.get("prefix_cache_hits_total", 0.0)}


def hit_share(before: dict[str, float] | None, after: dict[str, float] | None) -> float | None:
    """Share of the run's prompt tokens served from the prefix cache (None: not measured)."""
    if not before or not after:
        return None
    queries = after["queries"] - before["queries"]
    return round((after["hits"] - before["hits"]) / queries, 3) if queries > 0 else None
