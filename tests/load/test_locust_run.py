"""A short headless Locust run against the local serve_app, checked against the server's own metrics."""

from __future__ import annotations

import json

import pytest

from loadtest.run import main as run_load
from tests.support.metrics import quiescent_scrape, scrape, settled_total, total
from tests.support.serving import MODEL_A

USERS = 4
DURATION_S = 15
MAX_TOKENS = "8-16"
RESULT_FILES = ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv", "locust.html", "records.json", "client_lag.json", "summary.json")


@pytest.fixture(scope="module")
def load_run(served_app, tmp_path_factory):
    out = tmp_path_factory.mktemp("load")
    # The shared app served other tests just before: start from counters that settled.
    before = quiescent_scrape(served_app.metrics_url, ("ray_serve_num_http_requests_total", "ray_serve_num_http_error_requests_total"))
    code = run_load([
        "--url", served_app.base_url, "--out", str(out), "--model", MODEL_A, "--api-key", served_app.api_key,
        "--users", str(USERS), "--duration", str(DURATION_S), "--max-tokens", MAX_TOKENS, "--prompt-words", "8-32",
    ])
    summary = json.loads((out / "summary.json").read_text())
    records = json.loads((out / "records.json").read_text())
    return {"out": out, "code": code, "summary": summary, "records": records, "before": before, "url": served_app.metrics_url}


def delta(run, name: str, expected: float) -> float:
    start = total(run["before"], name, model_name=MODEL_A)
    return settled_total(run["url"], name, start + expected, model_name=MODEL_A) - start


def test_run_writes_every_result_file(load_run):
    for name in RESULT_FILES:
        assert (load_run["out"] / name).is_file(), name


def test_no_request_failed(load_run):
    s = load_run["summary"]
    assert load_run["code"] == 0
    assert s["requests"] >= USERS
    assert s["failures"] == 0


def test_output_tokens_match_the_engine_counter(load_run):
    recorded = load_run["summary"]["output_tokens"]
    assert recorded > 0
    assert delta(load_run, "ray_vllm_generation_tokens_total", recorded) == recorded


def test_request_count_matches_the_engine_counter(load_run):
    recorded = load_run["summary"]["requests"]
    assert delta(load_run, "ray_vllm_request_success_total", recorded) == recorded


def test_server_counted_no_http_errors_during_the_run(load_run):
    """Not even 499s: the harness reads every stream to its end before closing it."""
    requests_before = total(load_run["before"], "ray_serve_num_http_requests_total")
    # The proxy exports its request and error counters together: wait for this run's requests.
    settled_total(load_run["url"], "ray_serve_num_http_requests_total", requests_before + load_run["summary"]["requests"])
    errors_after = total(scrape(load_run["url"]), "ray_serve_num_http_error_requests_total")
    assert errors_after == total(load_run["before"], "ray_serve_num_http_error_requests_total")


def test_client_ttft_is_at_least_the_engine_ttft(load_run):
    """The client sees the engine's TTFT plus the proxy and ingress hops, never less."""
    n = load_run["summary"]["requests"]
    count = delta(load_run, "ray_vllm_time_to_first_token_seconds_count", n)
    engine_mean_s = delta(load_run, "ray_vllm_time_to_first_token_seconds_sum", 0) / count
    client_mean_s = load_run["summary"]["ttft_ms"]["mean"] / 1000
    assert client_mean_s >= engine_mean_s * 0.95  # 5% slack for clock granularity
    # Upper bound relative to the engine's, so a loaded 2-core machine (where every hop
    # waits for CPU) does not fail it, while a harness that timed the wrong event would.
    assert client_mean_s <= engine_mean_s * 1.5 + 1.0, "client TTFT far above engine TTFT: time lost outside the engine"


def test_every_record_has_consistent_latencies(load_run):
    for r in load_run["records"]:
        assert 0 < r["ttft_s"] <= r["e2e_s"]
        assert 8 <= r["output_tokens"] <= 16
        # One gap per later text chunk; a chunk may carry several tokens, never fewer than one.
        assert len(r["itl_s"]) <= r["output_tokens"] - 1
        assert all(gap >= 0 for gap in r["itl_s"])


def test_responses_stream_in_several_chunks(load_run):
    """Streaming works: nearly every response arrives in more than one chunk.

    Not every one: on 2 busy cores the engine can finish a short answer before the
    ingress flushes its first chunk, and then the whole answer arrives at once (seen once
    in 422 requests).
    """
    records = load_run["records"]
    chunked = sum(1 for r in records if r["itl_s"])
    assert chunked >= 0.9 * len(records), f"{chunked} of {len(records)} responses came in more than one chunk"
