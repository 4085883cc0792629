"""A monitor's scrapeTimeout may not exceed its interval, in every chart: the charts
compare the two durations unit by unit (Prometheus refuses a scrape config otherwise)."""

from __future__ import annotations

import pytest

from tests.support import bad_inputs

# Where each chart declares a monitor's interval and scrapeTimeout.
MONITORS = [
    ("kuberay-llm", "podMonitor"),
    ("vllm-standalone", "monitoring.podMonitor"),
    ("vllm-standalone", "monitoring.serviceMonitor"),
    ("observability", "scrape.vllm"),
    ("observability", "scrape.ray"),
]


@pytest.mark.parametrize(("chart", "at"), MONITORS)
@pytest.mark.parametrize(("interval", "timeout"), [("1m30s", "90s"), ("1h", "59m59s"), ("2m", "119999ms")])
def test_a_timeout_within_the_interval_renders(chart: str, at: str, interval: str, timeout: str):
    verdict = bad_inputs.judge(chart, {f"{at}.interval": interval, f"{at}.scrapeTimeout": timeout})
    assert verdict.rendered, verdict.error


@pytest.mark.parametrize(("chart", "at"), MONITORS)
@pytest.mark.parametrize(("interval", "timeout"), [("1m30s", "91s"), ("1m", "1m1ms"), ("15s", "1m")])
def test_a_timeout_longer_than_the_interval_fails_naming_both(chart: str, at: str, interval: str, timeout: str):
    verdict = bad_inputs.judge(chart, {f"{at}.interval": interval, f"{at}.scrapeTimeout": timeout})
    assert not verdict.rendered and f"{at}.scrapeTimeout ({timeout})" in verdict.error and f"{at}.interval ({interval})" in verdict.error, verdict.error
