"""No generated input may cause a server error: a fixed-seed fuzz run and the kept corpus.

The run is deterministic: cases are drawn from the live app's /openapi.json with a
fixed seed (tests/support/fuzzing.CI_SEED) before any is sent, so the same commit
always sends the same cases. `make fuzz` explores with new seeds and many more cases,
and keeps every failure it finds in tests/serve_app/fuzz_corpus/, which the corpus test
below replays on every run.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis

from tests.support import fuzzing
from tests.support.faults import record_figures
from tests.support.serving import MODEL_A

EXAMPLES_PER_MODE = 60


@pytest.fixture(scope="module")
def api_schema(served_app):
    headers = {"Authorization": f"Bearer {served_app.api_key}"}
    return schemathesis.openapi.from_url(f"{served_app.base_url}/openapi.json", headers=headers, timeout=30)


@pytest.fixture(scope="module")
def ci_cases(api_schema) -> list[fuzzing.Case]:
    return fuzzing.draw_all(api_schema, EXAMPLES_PER_MODE, fuzzing.CI_SEED)


@pytest.fixture(scope="module")
def fuzz_tally(served_app, ci_cases) -> fuzzing.Tally:
    tally = fuzzing.Tally()
    with served_app.client() as http:
        for case in ci_cases:
            tally.add(case, fuzzing.send(http, case))
    record_figures("fuzz", {"cases": tally.cases, "server_errors": len(tally.failures), "statuses": tally.statuses, "seed": fuzzing.CI_SEED})
    return tally


def test_openapi_schema_lists_the_openai_operations(api_schema):
    paths = api_schema.raw_schema["paths"]
    declared = {(path, method.upper()) for path, item in paths.items() for method in item}
    assert set(fuzzing.OPERATIONS) <= declared
    # Every operation the app declares is fuzzed, or is named as not fuzzed (and why) in fuzzing.py.
    assert declared - set(fuzzing.OPERATIONS) == {("/v1/audio/transcriptions", "POST")}


def test_the_same_seed_draws_the_same_cases(api_schema, ci_cases):
    again = fuzzing.draw_all(api_schema, EXAMPLES_PER_MODE, fuzzing.CI_SEED)
    assert [c.key for c in again] == [c.key for c in ci_cases]


def test_another_seed_draws_other_cases(api_schema, ci_cases):
    other = fuzzing.draw_all(api_schema, EXAMPLES_PER_MODE, fuzzing.CI_SEED + 1)
    assert {c.key for c in other} != {c.key for c in ci_cases}


def test_fuzzed_requests_never_get_a_server_error(fuzz_tally):
    # Hypothesis stops early on an operation with few distinct inputs (GET /v1/models, /health).
    assert fuzz_tally.cases >= 12 * EXAMPLES_PER_MODE
    assert [(c.method, c.path, c.body, o.status, o.text) for c, o in fuzz_tally.failures] == []


def test_fuzzed_requests_reach_the_engine(fuzz_tally):
    """A fuzz run that only ever hits request validation would prove little about the engine path."""
    assert fuzz_tally.statuses.get("200", 0) >= 10, fuzz_tally.statuses


@pytest.mark.parametrize("case", fuzzing.corpus_cases(), ids=lambda c: f"{c.key}")
def test_corpus_case_gets_no_server_error(served_app, case):
    with served_app.client() as http:
        outcome = fuzzing.send(http, case)
    assert not outcome.server_error, (case.note, outcome)
    assert outcome.error_shape, outcome.text


def test_engines_still_serve_after_fuzzing(served_app, fuzz_tally):
    assert httpx.get(f"{served_app.base_url}/health", timeout=30).status_code == 200
    with served_app.client() as http:
        r = http.post("/v1/chat/completions", json={"model": MODEL_A, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
    assert r.status_code == 200
