"""Fuzz cases for the OpenAI endpoints: generated from the live app's schema, sent, judged.

Generation and sending are separate steps. Cases are drawn first, from the schema the
running app serves at /openapi.json (FastAPI builds it from Ray Serve LLM's request
models), with schemathesis in both modes: positive (valid by the schema) and negative
(invalid by it). Nothing a server answers feeds back into generation, so a seed fixes
the list of cases exactly, and the same list can be sent to two servers (serve_app and
vLLM's own OpenAI server) to compare their answers.

A case fails when the server answers 5xx, a stream carries an error event with a 5xx
code, or the connection breaks. Failures found by an exploratory run are kept as
corpus files (tests/serve_app/fuzz_corpus/) and replayed by every test run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.generation import GenerationMode

from serve_app.defaults import TINY_ENGINE
from serve_app.request_checks import ROLES

from .serving import MODEL_A
from .tools import REPO

CORPUS = REPO / "tests" / "serve_app" / "fuzz_corpus"
#: The seed of the fixed-seed run every `make test` does: the same commit, the same cases.
CI_SEED = 15_2026
#: Operations fuzzed: every operation the app's schema declares with a JSON body or none,
#: each with the modes it has. GETs without parameters have no invalid (negative) form.
#: Not fuzzed: POST /v1/audio/transcriptions, whose body is a multipart form (the
#: tiny model is no speech model; the form's fields are checked by the request model).
BOTH = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
OPERATIONS = {
    ("/v1/chat/completions", "POST"): BOTH,
    ("/v1/completions", "POST"): BOTH,
    ("/v1/embeddings", "POST"): BOTH,
    ("/v1/score", "POST"): BOTH,
    ("/tokenize", "POST"): BOTH,
    ("/detokenize", "POST"): BOTH,
    ("/v1/models", "GET"): (GenerationMode.POSITIVE,),
    # A path parameter is any string: it has no invalid form either.
    ("/v1/models/{model}", "GET"): (GenerationMode.POSITIVE,),
    ("/health", "GET"): (GenerationMode.POSITIVE,),
}
# The served context window, which bounds the in-range values of token counts.
CONTEXT = TINY_ENGINE.max_model_len
# Largest work a positive case may ask for; larger in-range values are scaled down to it,
# so a case costs milliseconds. Values beyond the window or out of range stay as drawn.
CAPS = {"max_tokens": 16, "max_completion_tokens": 16, "min_tokens": 4, "n": 2, "best_of": 2}
REQUEST_TIMEOUT_S = 60


@dataclass(frozen=True)
class Case:
    """One request: what was sent, and how it was drawn."""

    method: str
    path: str
    mode: str
    body: Any = None
    note: str = ""
    #: A body that is not JSON (negative cases may send raw bytes), base64-encoded.
    raw_body: str | None = None
    #: The schema's path template (``path`` has its parameters filled in).
    template: str = ""

    @property
    def key(self) -> str:
        """A stable name for the case: the hash of what is sent."""
        sent = json.dumps([self.method, self.path, self.body, self.raw_body], sort_keys=True)
        return hashlib.sha256(sent.encode()).hexdigest()[:16]

    def content(self) -> bytes:
        if self.raw_body is not None:
            return base64.b64decode(self.raw_body)
        return json.dumps(self.body).encode()


@dataclass
class Outcome:
    """What a server answered to a case."""

    status: int | None
    text: str = ""
    stream_error_code: int | None = None
    error_shape: bool = True

    @property
    def server_error(self) -> bool:
        return self.status is None or self.status >= 500 or (self.stream_error_code or 0) >= 500

    @property
    def failed(self) -> bool:
        """A server error, or an error body a client cannot parse as OpenAI's."""
        return self.server_error or not self.error_shape


@dataclass
class Tally:
    """Figures of a run: cases per operation and mode, statuses, the failing cases."""

    cases: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[Case, Outcome]] = field(default_factory=list)

    def add(self, case: Case, outcome: Outcome) -> None:
        self.cases += 1
        name = f"{case.method} {case.template or case.path} {case.mode}"
        self.per_operation[name] = self.per_operation.get(name, 0) + 1
        status = str(outcome.status) if outcome.stream_error_code is None else f"{outcome.status}+stream-error-{outcome.stream_error_code}"
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if outcome.failed:
            self.failures.append((case, outcome))


def steer(body: Any, path: str, model: str = MODEL_A) -> Any:
    """Steer a positive case past the checks the schema cannot express, and cap its work.

    The schema types ``model``, ``prompt`` and a message's ``role`` as any string, so
    most cases drawn from it alone are refused before the engine (no served model: the
    app serves two, so one must be named; no prompt; no known role). Steered, positive
    cases reach the engine with every other drawn value intact, and the work each asks
    for stays small.
    """
    if not isinstance(body, dict):
        return body
    body["model"] = model
    if path == "/v1/completions" and not body.get("prompt"):
        body["prompt"] = "hi"
    if path == "/v1/chat/completions":
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            body["messages"] = messages = [{"role": "user", "content": "hi"}]
        for message in messages:
            if isinstance(message, dict) and message.get("role") not in ROLES:
                message["role"] = ROLES[len(str(message.get("role"))) % len(ROLES)]
    if "stream_options" in body:
        body["stream"] = True
    for key, cap in CAPS.items():
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and cap < value <= CONTEXT:
            body[key] = cap
    return body


def draw(api_schema: Any, path: str, method: str, mode: GenerationMode, examples: int, rng_seed: int) -> list[Case]:
    """``examples`` cases for one operation and mode; the same seed draws the same cases."""
    operation = api_schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode)
    drawn: list[Case] = []

    @seed(rng_seed)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def collect(case: Any) -> None:
        body = case.body if method == "POST" else None
        url_path = case.formatted_path
        if isinstance(body, (bytes, bytearray)):
            drawn.append(Case(method, url_path, mode.value, raw_body=base64.b64encode(body).decode(), template=path))
            return
        if mode is GenerationMode.POSITIVE:
            body = steer(body, path)
        drawn.append(Case(method, url_path, mode.value, json.loads(json.dumps(body)) if body is not None else None, template=path))

    collect()
    return drawn


def draw_all(api_schema: Any, examples_per_mode: int, rng_seed: int) -> list[Case]:
    """Every operation in every mode, each from its own seed derived from ``rng_seed``."""
    cases: list[Case] = []
    for (path, method), modes in OPERATIONS.items():
        for mode in modes:
            sub_seed = random.Random(f"{rng_seed}:{method}:{path}:{mode.value}").getrandbits(32)
            cases.extend(draw(api_schema, path, method, mode, examples_per_mode, sub_seed))
    return cases


def is_openai_error(text: str) -> bool:
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return False
    return isinstance(error, dict) and {"message", "type", "param", "code"} <= set(error) and "Internal exception" not in str(error["message"])


def stream_errors(lines: Iterator[str]) -> int | None:
    """The code of the first error event of an SSE stream, or None."""
    for line in lines:
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        try:
            event = json.loads(line[6:])
        except ValueError:
            continue
        error = event.get("error") if isinstance(event, dict) else None
        if isinstance(error, dict):
            code = error.get("code")
            return code if isinstance(code, int) else 500
    return None


def send(client: httpx.Client, case: Case) -> Outcome:
    """Send ``case`` and judge the answer."""
    kwargs: dict[str, Any] = {"timeout": REQUEST_TIMEOUT_S}
    if case.method == "POST":
        kwargs["content"] = case.content()
        kwargs["headers"] = {"content-type": "application/json"}
    try:
        with client.stream(case.method, case.path, **kwargs) as response:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                code = stream_errors(response.iter_lines())
                return Outcome(response.status_code, stream_error_code=code)
            text = response.read().decode(errors="replace")
    except httpx.HTTPError as e:
        return Outcome(None, f"{type(e).__name__}: {e}")
    shape = response.status_code < 400 or is_openai_error(text)
    return Outcome(response.status_code, text[:500], error_shape=shape)


# ---------------------------------------------------------------- the corpus


def corpus_cases() -> list[Case]:
    """Every case kept in the corpus, in name order."""
    return [load(p) for p in sorted(CORPUS.glob("*.json"))]


def load(path: Path) -> Case:
    data = json.loads(path.read_text())
    return Case(data["method"], data["path"], data["mode"], data.get("body"), data.get("note", ""), data.get("raw_body"), data.get("template", ""))


def keep(case: Case, outcome: Outcome, found_by: str) -> Path:
    """Write a failing case into the corpus (a no-op if it is already there)."""
    CORPUS.mkdir(parents=True, exist_ok=True)
    target = CORPUS / f"{case.key}.json"
    if not target.exists():
        note = case.note or f"found by {found_by}: {outcome.status} {outcome.text[:200]}".strip()
        record = {**asdict(case), "note": note}
        target.write_text(json.dumps(record, sort_keys=True) + "\n")
    return target
