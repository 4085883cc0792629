"""Fuzz the OpenAI endpoints from the live app's own OpenAPI schema: no input may cause a 5xx.

The schema is the one the running app serves at /openapi.json (FastAPI generates it from
Ray Serve LLM's request models, so it is what the ingress really validates against).
Schemathesis generates valid (positive) and invalid (negative) requests for each
operation; a bounded number per operation keeps the run short. Valid requests are
steered at a served model, and the work each may ask for (tokens x choices) is capped
inside the context window so a fuzz case costs milliseconds, not minutes; values beyond
the window or out of range are left as generated, for the app to reject.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode

from tests.support.faults import record_figures
from tests.support.serving import MODEL_A

OPERATIONS = [("/v1/chat/completions", "POST"), ("/v1/completions", "POST"), ("/v1/models", "GET")]
# GET /v1/models takes no input, so it has no invalid (negative) form.
MODES = {
    "POST": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    "GET": (GenerationMode.POSITIVE,),
}
EXAMPLES_PER_MODE = 40
CONTEXT = 2048
# Largest work a positive case may ask for; larger in-range values are scaled down to it.
CAPS = {"max_tokens": 16, "max_completion_tokens": 16, "min_tokens": 4, "n": 2, "best_of": 2}
REQUEST_TIMEOUT_S = 60


def bound_work(case: Any) -> Any:
    body = case.body
    if isinstance(body, dict):
        if "model" in body:
            body["model"] = MODEL_A
        for key, cap in CAPS.items():
            value = body.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and cap < value <= CONTEXT:
                body[key] = cap
    return case


@pytest.fixture(scope="module")
def api_schema(served_app):
    headers = {"Authorization": f"Bearer {served_app.api_key}"}
    return schemathesis.openapi.from_url(f"{served_app.base_url}/openapi.json", headers=headers, timeout=30)


@pytest.fixture(scope="module")
def fuzz_results(served_app, api_schema) -> dict[str, list]:
    headers = {"Authorization": f"Bearer {served_app.api_key}"}
    results: dict[str, list] = {"cases": [], "server_errors": []}
    for path, method in OPERATIONS:
        operation = api_schema[path][method]
        for mode in MODES[method]:
            strategy = operation.as_strategy(generation_mode=mode)
            if mode is GenerationMode.POSITIVE:
                strategy = strategy.map(bound_work)

            @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case: Any) -> None:
                response = case.call(base_url=served_app.base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
                results["cases"].append((method, path, mode.value, response.status_code))
                if response.status_code >= 500:
                    results["server_errors"].append((method, path, mode.value, case.body, response.status_code, response.text[:500]))

            run()
    statuses: dict[str, int] = {}
    for _, _, _, status in results["cases"]:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    record_figures("fuzz", {"cases": len(results["cases"]), "server_errors": len(results["server_errors"]), "statuses": statuses})
    return results


def test_openapi_schema_lists_the_openai_operations(api_schema):
    paths = api_schema.raw_schema["paths"]
    for path, method in OPERATIONS:
        assert method.lower() in paths[path]


def test_fuzzed_requests_never_get_a_server_error(fuzz_results):
    # Hypothesis stops early on an operation with few distinct inputs (GET /v1/models).
    assert len(fuzz_results["cases"]) >= 4 * EXAMPLES_PER_MODE
    assert fuzz_results["server_errors"] == []


def test_engines_still_serve_after_fuzzing(served_app, fuzz_results):
    assert httpx.get(f"{served_app.base_url}/health", timeout=30).status_code == 200
    with served_app.client() as http:
        r = http.post("/v1/chat/completions", json={"model": MODEL_A, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
    assert r.status_code == 200
