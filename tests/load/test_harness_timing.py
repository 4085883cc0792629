"""The harness measures what happened: checked against a FAKE server with a known timeline.

Against the real servers the truth is unknown, so these tests use the scripted
endpoint in tests/support/scripted_sse.py: first token after 300 ms, then one every
100 ms. A reader that buffers (Locust FastHttpUser's 1 KiB ``iter_lines``) would stamp the
first token about half a second late and report gaps of zero; a harness that trusts
``[DONE]`` alone would count a broken stream as a success.
"""

from __future__ import annotations

import json
import statistics

import pytest

from tests.support.scripted_sse import Schedule, run_harness

SCHEDULE = Schedule(first_s=0.3, gap_s=0.1, tokens=10)
# Upper slack for a loaded 2-core machine; far below the half second a buffering reader adds.
SLACK_S = 0.15


def harness_run(tmp_path_factory, model: str) -> dict:
    out = tmp_path_factory.mktemp(model)
    code = run_harness(SCHEDULE, out, "--users", "2", "--duration", "3", model=model)
    return {"code": code, "records": json.loads((out / "records.json").read_text()), "summary": json.loads((out / "summary.json").read_text())}


@pytest.fixture(scope="module")
def on_schedule(tmp_path_factory):
    return harness_run(tmp_path_factory, "scripted")


@pytest.mark.parametrize("model", ["scripted-broken", "scripted-error-event", "scripted-rejected"])
def test_a_bad_stream_is_a_failed_request_and_fails_the_run(tmp_path_factory, model):
    run = harness_run(tmp_path_factory, model)
    assert run["records"], "the harness recorded nothing"
    assert all(r["error"] for r in run["records"]), [r for r in run["records"] if not r["error"]]
    assert all(r["output_tokens"] == 0 for r in run["records"])
    assert run["summary"]["failures"] == run["summary"]["requests"]
    assert run["code"] != 0


def test_every_scheduled_request_succeeds(on_schedule):
    assert on_schedule["code"] == 0
    assert on_schedule["summary"]["requests"] >= 2
    assert on_schedule["summary"]["failures"] == 0


def test_ttft_is_stamped_when_the_first_token_arrives(on_schedule):
    for r in on_schedule["records"]:
        assert SCHEDULE.first_s <= r["ttft_s"] <= SCHEDULE.first_s + SLACK_S, r["ttft_s"]


def test_inter_token_latency_follows_the_server(on_schedule):
    gaps = [g for r in on_schedule["records"] for g in r["itl_s"]]
    assert len(gaps) == len(on_schedule["records"]) * (SCHEDULE.tokens - 1)
    assert SCHEDULE.gap_s * 0.8 <= statistics.median(gaps) <= SCHEDULE.gap_s + SLACK_S / 2


def test_time_per_output_token_and_e2e_follow_the_server(on_schedule):
    expected_e2e = SCHEDULE.first_s + (SCHEDULE.tokens - 1) * SCHEDULE.gap_s
    for r in on_schedule["records"]:
        assert expected_e2e <= r["e2e_s"] <= expected_e2e + SLACK_S * 2, r["e2e_s"]
        assert SCHEDULE.gap_s * 0.8 <= r["tpot_s"] <= SCHEDULE.gap_s + SLACK_S / 2, r["tpot_s"]


def test_output_tokens_come_from_the_usage_chunk(on_schedule):
    assert {r["output_tokens"] for r in on_schedule["records"]} == {SCHEDULE.tokens}
    assert {r["prompt_tokens"] for r in on_schedule["records"]} == {7}
