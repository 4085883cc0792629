"""tracing.* reaches serve_app's config as the one source of truth, off by default."""

from __future__ import annotations

from serve_app.config import AppConfig

from .chart import CPU_SCENARIO, app_args, render

ENDPOINT = "http://otel-collector.observability:4318/v1/traces"


def test_tracing_is_off_by_default() -> None:
    assert "tracing" not in app_args(render([CPU_SCENARIO]))


def test_enabled_tracing_is_rendered_into_serve_app_config() -> None:
    args = app_args(render([CPU_SCENARIO], {"tracing": {"enabled": True, "otlpEndpoint": ENDPOINT, "sampleRatio": 0.25, "engineSpans": True}}))

    tracing = AppConfig.model_validate(args).tracing
    assert (tracing.enabled, tracing.otlp_endpoint, tracing.sample_ratio, tracing.engine_spans) == (True, ENDPOINT, 0.25, True)
    assert tracing.service_name == "serve-app"
