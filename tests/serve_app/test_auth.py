"""API-key auth: the OpenAI endpoints need the key; health stays open."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support.serving import MODEL_A


def test_missing_key_gets_401_with_openai_error(served_app):
    r = httpx.get(f"{served_app.base_url}/v1/models", timeout=30)
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "invalid_api_key"
    assert "Missing API key" in err["message"]


def test_wrong_key_gets_401(served_app):
    r = httpx.post(
        f"{served_app.base_url}/v1/completions",
        headers={"Authorization": "Bearer not-the-key"},
        json={"model": MODEL_A, "prompt": "hi", "max_tokens": 1},
        timeout=30,
    )
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_non_bearer_scheme_is_rejected(served_app):
    r = httpx.get(f"{served_app.base_url}/v1/models", headers={"Authorization": f"Basic {served_app.api_key}"}, timeout=30)
    assert r.status_code == 401


def test_openai_client_with_wrong_key_raises_authentication_error(served_app):
    client = openai.OpenAI(base_url=f"{served_app.base_url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_health_needs_no_key(served_app):
    assert httpx.get(f"{served_app.base_url}/health", timeout=30).status_code == 200
    assert httpx.get(f"{served_app.base_url}/-/healthz", timeout=30).status_code == 200
