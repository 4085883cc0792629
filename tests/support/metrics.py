"""Scrape a Prometheus endpoint and sum series by name and label filter."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families


def scrape(url: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample on the endpoint as (name, labels, value)."""
    text = httpx.get(url, timeout=30).text
    return [(s.name, s.labels, s.value) for fam in text_string_to_metric_families(text) for s in fam.samples]


def total(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples if n == name and all(lab.get(k) == x for k, x in labels.items()))


def settled_total(url: str, name: str, expected_at_least: float, timeout: float = 60, **labels: str) -> float:
    """Ray exports metrics periodically: poll until the sum reaches the expectation (or time out)."""
    deadline = time.monotonic() + timeout
    value = total(scrape(url), name, **labels)
    while value < expected_at_least and time.monotonic() < deadline:
        time.sleep(2)
        value = total(scrape(url), name, **labels)
    return value


def quiescent_scrape(url: str, names: tuple[str, ...], interval_s: float = 6, timeout: float = 90) -> list[tuple[str, dict[str, str], float]]:
    """A scrape taken once the ``names`` counters stopped moving for two intervals in a row.

    Ray's exporter publishes counters a few seconds after the fact, so a snapshot taken
    right after other traffic can miss that traffic's last requests and errors, which
    would then be blamed on whatever runs next.
    """
    deadline = time.monotonic() + timeout
    samples = scrape(url)
    values, stable = [total(samples, n) for n in names], 0
    while stable < 2 and time.monotonic() < deadline:
        time.sleep(interval_s)
        samples = scrape(url)
        current = [total(samples, n) for n in names]
        stable = stable + 1 if current == values else 0
        values = current
    return samples
