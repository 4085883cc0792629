"""The observability chart's alerts on the live Prometheus: their state, and the time they may take.

The tier's overlay (tests/pods/values/observability.yaml) shortens the `for` of every
alert a test provokes, so that an alert fires while its fault lasts; the expressions
and the thresholds the tests reach are the chart's.
"""

from __future__ import annotations

import json
import time
from typing import Callable

import yaml

from tests.cluster.kube import wait_for

from .prometheus import INTERVAL, OBSERVABILITY_VALUES, RULES_TIMEOUT_S, Prometheus

# An alert's firing or resolving, a few evaluations after the fact.
ALERT_TIMEOUT_S = 120
# A ratio or quantile over a rate window falling back under its threshold while traffic
# served at once fills the window.
CLEAR_TIMEOUT_S = 240
# What the harness's polling (tests.cluster.kube.wait_for) adds to a measured delay.
POLL_SLACK_S = 5
# The rate window of the recorded ratios the alerts read (llmstack:*:ratio_rate5m).
RATE_WINDOW_S = 300


def state(server: Prometheus, name: str, namespace: str) -> str | None:
    """``pending`` or ``firing`` for the alert on ``namespace``, None when it is not active."""
    states = [a["state"] for a in server.api("alerts")["alerts"] if a["labels"].get("alertname") == name and a["labels"].get("namespace") == namespace]
    return "firing" if "firing" in states else (states[0] if states else None)


def wait(
    server: Prometheus, names: list[str], namespace: str, firing: bool, meanwhile: Callable[[], object] | None = None,
    timeout_s: float = ALERT_TIMEOUT_S,
) -> None:
    """Until every alert of ``names`` fires on ``namespace`` (``firing``) or none is active,
    calling ``meanwhile`` (the traffic that makes or clears the condition) on every poll."""
    want = "firing" if firing else None

    def reached() -> bool:
        if meanwhile:
            meanwhile()
        return all(state(server, name, namespace) == want for name in names)

    def describe() -> str:
        return f"5xx ratio recorded: {error_ratio(server, namespace)}\nactive alerts: {json.dumps(server.api('alerts'), indent=1)}"

    wait_for(f"{', '.join(names)} on {namespace} {'firing' if firing else 'resolved'}", reached, timeout_s, describe)


def duration_s(text: str) -> float:
    """A Prometheus duration of one unit (5s, 2m) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    number = text.rstrip("smh")
    return float(number) * units[text[len(number):]]


def configured(key: str) -> dict:
    """The alert's settings in the tier's overlay (`for`, `threshold`)."""
    return yaml.safe_load(OBSERVABILITY_VALUES.read_text())["alerts"][key]


def deadline_s(key: str, scrape: str = INTERVAL, detect_s: float = 0) -> float:
    """How soon an alert must fire after its fault: ``detect_s`` for the system to report it,
    one scrape to see it, its `for` and two evaluations, plus a poll of this harness."""
    return detect_s + duration_s(scrape) + duration_s(configured(key)["for"]) + 2 * duration_s(INTERVAL) + POLL_SLACK_S


def window_clear_s(scrape: str = INTERVAL) -> float:
    """How soon an alert on a ratio over the rate window must resolve once its fault has
    ended, at worst: the fault's last samples leave the window (traffic served meanwhile
    dilutes them sooner), then one scrape, two evaluations and a poll of this harness."""
    return RATE_WINDOW_S + duration_s(scrape) + 2 * duration_s(INTERVAL) + POLL_SLACK_S


def error_ratio(server: Prometheus, namespace: str) -> float | None:
    """The 5xx share LLMHighErrorRatio reads for the release, None when not recorded."""
    rows = server.query(f'llmstack:http_request_errors:ratio_rate5m{{namespace="{namespace}"}}')
    return max(float(row["value"][1]) for row in rows) if rows else None


def assert_client_errors_are_not_errors(server: Prometheus, namespace: str, client_errors: str, send: Callable[[], object]) -> None:
    """Bad requests (``send`` makes some, and some good ones) are recorded in ``client_errors``,
    a selector of the 4xx series, yet the release's 5xx ratio stays 0 and LLMHighErrorRatio quiet.

    Checked two rule evaluations after the 4xx became visible in a rate, so that a rule
    counting them would have recorded it.
    """
    seen: list[float] = []

    def counted_and_evaluated() -> bool:
        send()
        if not seen and server.query(f"increase({client_errors}[1m]) > 0"):
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] > 2 * duration_s(INTERVAL) and error_ratio(server, namespace) is not None

    wait_for(f"the 4xx answers to show in {client_errors}", counted_and_evaluated, RULES_TIMEOUT_S)
    assert error_ratio(server, namespace) == 0
    assert state(server, "LLMHighErrorRatio", namespace) is None
