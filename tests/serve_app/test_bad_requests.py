"""Bad requests get a 4xx with an OpenAI-style error body: never a 500, never a dead replica."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.serving import MODEL_A

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MESSAGES = [{"role": "user", "content": "hi"}]
TOO_LONG_PROMPT = "word " * 3000  # ~3000 tokens against a 2048-token context window

# (id, path, raw body bytes or JSON object, content type, status, text expected in the message or param)
CASES = [
    ("unknown-model", COMPLETIONS, {"model": "no-such-model", "prompt": "hi"}, None, 404, "no-such-model"),
    ("unknown-model-chat", CHAT, {"model": "no-such-model", "messages": MESSAGES}, None, 404, "no-such-model"),
    ("malformed-json", COMPLETIONS, b'{"model": "tiny-llama", "prompt":', None, 400, "not valid JSON"),
    ("truncated-json-chat", CHAT, b'{"model": "tiny-llama", "messages": [{"role": "us', None, 400, "not valid JSON"),
    ("empty-body", COMPLETIONS, b"", None, 400, "not valid JSON"),
    ("body-is-a-list", COMPLETIONS, b"[1, 2]", None, 400, "JSON object"),
    ("invalid-utf8", COMPLETIONS, b'{"model": "tiny-llama", "prompt": "\xff\xfe"}', None, 400, "UTF-8"),
    ("wrong-content-type", COMPLETIONS, b'{"model": "tiny-llama", "prompt": "hi"}', "text/plain", 400, "content type"),
    ("max-tokens-wrong-type", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "max_tokens": "many"}, None, 400, "max_tokens"),
    ("model-wrong-type", COMPLETIONS, {"model": 5, "prompt": "hi"}, None, 400, "model"),
    ("messages-wrong-type", CHAT, {"model": MODEL_A, "messages": "hi"}, None, 400, "messages"),
    ("max-tokens-negative", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "max_tokens": -1}, None, 400, "max_tokens"),
    ("max-tokens-zero-chat", CHAT, {"model": MODEL_A, "messages": MESSAGES, "max_tokens": 0}, None, 400, "max_tokens"),
    ("max-tokens-beyond-context", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "max_tokens": 100000}, None, 400, "max_tokens"),
    ("prompt-beyond-context", COMPLETIONS, {"model": MODEL_A, "prompt": TOO_LONG_PROMPT, "max_tokens": 4}, None, 400, "token"),
    ("chat-beyond-context", CHAT, {"model": MODEL_A, "messages": [{"role": "user", "content": TOO_LONG_PROMPT}]}, None, 400, "token"),
    ("temperature-negative", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "temperature": -3}, None, 400, "temperature"),
    ("top-p-out-of-range", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "top_p": 7}, None, 400, "top_p"),
    ("missing-prompt", COMPLETIONS, {"model": MODEL_A}, None, 400, "prompt"),
    ("empty-messages", CHAT, {"model": MODEL_A, "messages": []}, None, 400, ""),
    ("message-without-role", CHAT, {"model": MODEL_A, "messages": [{"content": "hi"}]}, None, 400, "role"),
    ("message-not-an-object", CHAT, {"model": MODEL_A, "messages": ["hi"]}, None, 400, "messages[0]"),
    ("invalid-utf8-chat", CHAT, b'{"model": "tiny-llama", "messages": [{"role": "user", "content": "\xc3\x28"}]}', None, 400, "UTF-8"),
    ("form-content-type", CHAT, b"model=tiny-llama&messages=hi", "application/x-www-form-urlencoded", 400, "content type"),
    ("temperature-nan", COMPLETIONS, b'{"model": "tiny-llama", "prompt": "hi", "temperature": NaN}', None, 400, "NaN"),
    ("top-p-infinity", CHAT, b'{"model": "tiny-llama", "messages": [{"role": "user", "content": "hi"}], "top_p": Infinity}', None, 400, "Infinity"),
    ("max-tokens-huge-integer", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "max_tokens": 10**30}, None, 400, "max_tokens"),
    ("max-completion-tokens-negative", CHAT, {"model": MODEL_A, "messages": MESSAGES, "max_completion_tokens": -5}, None, 400, "max"),
    ("n-beyond-limit", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "n": 10**6, "max_tokens": 1}, None, 400, "n"),
    ("logprobs-beyond-limit", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "logprobs": 10**6, "max_tokens": 1}, None, 400, "logprobs"),
    ("prompt-token-ids-beyond-context", COMPLETIONS, {"model": MODEL_A, "prompt": [5] * 3000, "max_tokens": 1}, None, 400, "token"),
    ("prompt-token-id-out-of-vocabulary", COMPLETIONS, {"model": MODEL_A, "prompt": [10**6], "max_tokens": 1}, None, 400, "token"),
    ("prompt-token-id-negative", COMPLETIONS, {"model": MODEL_A, "prompt": [-1], "max_tokens": 1}, None, 400, "prompt"),
    # Classes found by fuzzing (reports/reliability.md): each was a 500 or was accepted.
    ("content-part-unknown-type", CHAT, {"model": MODEL_A, "messages": [{"role": "user", "content": [{"type": "no-such", "text": "x"}]}]}, None, 400, "content part type"),
    ("content-part-not-an-object", CHAT, {"model": MODEL_A, "messages": [{"role": "user", "content": ["x"]}]}, None, 400, "content[0]"),
    ("content-part-text-missing", CHAT, {"model": MODEL_A, "messages": [{"role": "user", "content": [{"type": "text"}]}]}, None, 400, "text"),
    ("content-part-audio-malformed", CHAT, {"model": MODEL_A, "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": "x"}]}]}, None, 400, "input_audio"),
    ("content-part-image-malformed", CHAT, {"model": MODEL_A, "messages": [{"role": "user", "content": [{"type": "input_image", "image_url": {}}]}]}, None, 400, "image_url"),
    ("content-is-a-number", CHAT, {"model": MODEL_A, "messages": [{"role": "user", "content": 5}]}, None, 400, "content"),
    ("image-to-a-text-only-model", CHAT, {"model": MODEL_A, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}, None, 400, "multimodal"),
    ("role-unknown", CHAT, {"model": MODEL_A, "messages": [{"role": "wizard", "content": "hi"}]}, None, 400, "role"),
    ("messages-a-boolean", CHAT, {"model": MODEL_A, "messages": True}, None, 400, "messages"),
    ("embedding-messages-role-unknown", "/v1/embeddings", {"model": MODEL_A, "messages": [{"role": "x", "content": "hi"}]}, None, 400, "role"),
    ("nesting-deep", COMPLETIONS, b'{"model": "tiny-llama", "prompt": "hi", "x": ' + b"[" * 100 + b"]" * 100 + b"}", None, 400, "nests deeper"),
    ("nesting-deeper-than-the-parser", CHAT, b'{"model": "tiny-llama", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None, 400, "nests deeper"),
    ("array-too-long", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "stop": ["x"] * 5000}, None, 400, "stop"),
    ("token-ids-are-not-an-array-limit", COMPLETIONS, {"model": MODEL_A, "prompt": [5] * 5000, "max_tokens": 1}, None, 400, "token"),
    ("value-the-request-model-crashes-on", CHAT, {"model": MODEL_A, "messages": MESSAGES, "tools": [5], "tool_choice": {"type": "function", "function": {"name": "f"}}}, None, 400, "wrong type"),
    ("integer-beyond-64-bits", COMPLETIONS, {"model": MODEL_A, "prompt": "hi", "max_tokens": 2, "routed_experts_prompt_start": 2**100}, None, 400, "64-bit"),
    ("message-the-engine-crashes-on", CHAT, {"model": MODEL_A, "messages": [{"author": {"role": "tool"}, "role": "tool"}], "max_tokens": 2}, None, 400, "role"),
]
# An internal class name in a message: a dotted module path or a bare FooError/FooException.
INTERNAL_NAME = re.compile(r"\b[a-z_]+\.[\w.]+\b|\b[A-Z]\w*(?:Error|Exception)\b")


@pytest.mark.parametrize(("path", "body", "content_type", "status", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_request_gets_openai_error(served_app, path, body, content_type, status, expect):
    headers = {"content-type": content_type or "application/json"}
    with served_app.client() as http:
        if isinstance(body, bytes):
            r = http.post(path, content=body, headers=headers)
        else:
            r = http.post(path, json=body, headers=headers)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert "Internal exception" not in error["message"]
    assert not INTERNAL_NAME.search(error["message"]), error["message"]
    assert expect.lower() in f"{error['message']} {error['param']}".lower()
    assert r.headers.get("x-request-id"), "every error carries the request id"


def test_body_over_the_size_limit_is_refused_before_it_is_read(served_app):
    """413 from Content-Length alone: the client is told before it has sent the body."""
    body = b'{"model": "tiny-llama", "prompt": "' + b"x" * (9 << 20) + b'"}'
    with served_app.client() as http:
        r = http.post(COMPLETIONS, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert "byte limit" in r.json()["error"]["message"]
    assert r.headers.get("x-request-id")


def test_chunked_body_over_the_size_limit_is_refused(served_app):
    """No Content-Length (chunked upload): refused once the bytes read pass the limit."""

    def chunks():
        yield b'{"model": "tiny-llama", "prompt": "'
        for _ in range(9):
            yield b"x" * (1 << 20)
        yield b'"}'

    with served_app.client() as http:
        r = http.post(COMPLETIONS, content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text


def test_error_messages_keep_the_parameter_named(served_app):
    """A vLLM range error names the parameter in ``param`` without internal trailers."""
    with served_app.client() as http:
        r = http.post(COMPLETIONS, json={"model": MODEL_A, "prompt": "hi", "frequency_penalty": 1e308})
    error = r.json()["error"]
    assert (r.status_code, error["param"]) == (400, "frequency_penalty")
    assert "Request ID" not in error["message"] and "parameter=" not in error["message"]


def test_unknown_model_error_has_model_not_found_code(served_app):
    with served_app.client() as http:
        r = http.post(COMPLETIONS, json={"model": "no-such-model", "prompt": "hi"})
    assert r.json()["error"]["code"] == "model_not_found"


def test_unknown_parameters_are_ignored_not_fatal(served_app):
    with served_app.client() as http:
        r = http.post(COMPLETIONS, json={"model": MODEL_A, "prompt": "hi", "max_tokens": 2, "not_a_real_option": {"x": 1}})
    assert r.status_code == 200


def test_engines_still_serve_after_the_bad_request_matrix(served_app):
    assert httpx.get(f"{served_app.base_url}/health", timeout=30).json()["status"] == "ok"
    with served_app.client() as http:
        r = http.post(COMPLETIONS, json={"model": MODEL_A, "prompt": "hi", "max_tokens": 3, "ignore_eos": True})
    assert r.status_code == 200
    assert r.json()["usage"]["completion_tokens"] == 3
