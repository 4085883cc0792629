"""Session fixtures of the live scrape tests: traffic through serve_app (Ray) and through
vLLM's own OpenAI server, and one scrape of each after it. Starting an engine costs
tens of seconds on 2 cores, so each runs once per session."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.charts.observability import promql
from tests.support import serving

from . import exporters


@pytest.fixture(scope="session")
def timings() -> dict[str, float]:
    """Seconds spent per phase (engine start, traffic, scrape), reported by the timing test."""
    return {}


@pytest.fixture(scope="session")
def references() -> dict[str, list[str]]:
    """Every raw metric name the chart references (rules, dashboards, autoscaling), with origins."""
    rendered = promql.render_everything()
    return promql.referenced_metrics(promql.all_expressions(rendered))


def exported_404(scrape: exporters.Scrape) -> bool:
    """The 404 this fixture caused has reached Ray's exporter."""
    codes = scrape.values.get("ray_serve_num_http_error_requests_total", {}).get("error_code", set())
    return "404" in codes


def exported_session_traffic(models: list[str]):
    """The 404 and every model's engine gauges have reached Ray's exporter: each engine
    replica exports on its own period, so one model's series can lag another's."""

    def until(scrape: exporters.Scrape) -> bool:
        running = scrape.values.get("ray_vllm_num_requests_running", {}).get("model_name", set())
        return exported_404(scrape) and set(models) <= running

    return until


@pytest.fixture(scope="session")
def ray_scrape(served_app, references, timings) -> exporters.Scrape:
    start = time.monotonic()
    codes = []
    with served_app.client() as client:
        for model in served_app.models:
            codes += exporters.completions(client, model)
        error = exporters.error_request(client)
    timings["serve_app traffic"] = time.monotonic() - start
    assert set(codes) == {200}, codes
    assert error == 404, error
    start = time.monotonic()
    wanted = {n for n in references if exporters.expected_exporter(n) == "ray" and n not in exporters.EVENT_ONLY}
    scrape = exporters.scrape_until(served_app.metrics_url, wanted, until=exported_session_traffic(served_app.models))
    timings["ray scrape (incl. export delay)"] = time.monotonic() - start
    return scrape


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory, timings):
    from serve_app.tiny_model import ensure_model

    start = time.monotonic()
    server = exporters.start_vllm(str(ensure_model()), serving.free_port(), tmp_path_factory.mktemp("vllm_server"))
    timings["vLLM server start"] = time.monotonic() - start
    yield server
    start = time.monotonic()
    exporters.stop_vllm(server)
    timings["vLLM server stop"] = time.monotonic() - start
    print(f"\nvLLM server stopped in {timings['vLLM server stop']:.1f} s")


@pytest.fixture(scope="session")
def vllm_scrape(vllm_server, timings) -> exporters.Scrape:
    start = time.monotonic()
    with httpx.Client(base_url=vllm_server.base_url, timeout=120) as client:
        codes = exporters.completions(client, exporters.VLLM_MODEL)
        error = exporters.error_request(client)
    timings["vLLM server traffic"] = time.monotonic() - start
    assert set(codes) == {200}, codes
    assert error == 404, error
    return exporters.scrape(vllm_server.metrics_url)
