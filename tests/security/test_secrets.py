"""No secret value is ever rendered outside a Secret's data: not into serveConfigV2,
a ConfigMap, an annotation, args or an env `value`. Each render is repeated with a
distinct sentinel passed through every values key that takes a credential; the
sentinels (and their base64) may then appear only in `kind: Secret` data/stringData,
and every container gets credentials through secretKeyRef."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import yaml

from tests.security import cases
from tests.security.credentials import SENTINELS, credential_keys
from tests.support.pods import pod_specs
from tests.support import helm

# The switches that make each chart create its own Secrets from those values.
ENABLE = {
    "kuberay-llm": {"auth": {"enabled": True, "existingSecret": ""}, "huggingface": {"token": {"existingSecret": ""}}},
    "vllm-standalone": {
        "apiKey": {"enabled": True, "useExisting": False},
        "huggingface": {"token": {"enabled": True, "useExisting": False}},
        "s3": {"credentials": {"enabled": True, "useExisting": False}},
    },
    "observability": {},
}
CREDENTIAL_ENV = re.compile(r"TOKEN|API_KEY|SECRET|ACCESS_KEY|PASSWORD")
# Command-line flags that would put a credential into the pod spec and `ps` output.
CREDENTIAL_FLAG = re.compile(r"--(api-key|token|hf-token|aws-secret-access-key)(=|$)")
ALWAYS_RENDERED = ("api-key", "hf-token")  # sentinel names whose Secret every workload render must hold

CASES = cases.cases(cases.WORKLOAD_CHARTS)


def nested(dotted: str, value: Any) -> dict:
    out: Any = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


def overrides(case: cases.Case) -> dict:
    out = ENABLE[case.chart]
    for key, sentinel in SENTINELS[case.chart].items():
        if case.name in cases.GATEWAY_AUTH_PRESETS and key.startswith("auth."):
            continue  # auth cannot be enabled there (tests/security/test_auth.py)
        out = cases.merge(out, nested(key, sentinel))
    if case.name in cases.GATEWAY_AUTH_PRESETS:
        out = {k: v for k, v in out.items() if k != "auth"}
    return out


def forms(sentinel: str) -> list[str]:
    return [sentinel, base64.b64encode(sentinel.encode()).decode()]


def secret_payload(secret: dict) -> list[str]:
    data = [base64.b64decode(v).decode() for v in (secret.get("data") or {}).values()]
    return data + [str(v) for v in (secret.get("stringData") or {}).values()]


@pytest.mark.parametrize("chart", cases.CHARTS)
def test_every_credential_key_in_values_yaml_gets_a_sentinel(chart: str) -> None:
    """A new credential value in a chart must be added to SENTINELS, or it goes unchecked."""
    values = helm.load_yaml(helm.CHARTS / chart / "values.yaml")
    assert credential_keys(values) == set(SENTINELS[chart])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_credentials_appear_only_in_secret_data(case: cases.Case) -> None:
    rendered = cases.render(case, overrides(case))
    sentinels = SENTINELS[case.chart]
    for doc in rendered.docs:
        visible = doc
        if doc["kind"] == "Secret":
            visible = {k: v for k, v in doc.items() if k not in ("data", "stringData")}
        text = yaml.safe_dump(visible)
        leaked = [key for key, s in sentinels.items() if any(f in text for f in forms(s))]
        assert not leaked, f"{doc['kind']}/{doc['metadata']['name']} contains the value of {leaked}"
    in_secrets = {key for key, s in sentinels.items() for sec in rendered.of_kind("Secret") if s in secret_payload(sec)}
    # The API key and the HF token are used by every render, so their Secrets must exist
    # (this also proves the sentinels reached the templates); S3 keys only with S3 downloads.
    expected = {k for k in sentinels if any(n in sentinels[k] for n in ALWAYS_RENDERED)}
    if case.name in cases.GATEWAY_AUTH_PRESETS:
        expected = {k for k in expected if not k.startswith("auth.")}
    assert expected <= in_secrets


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_containers_get_credentials_only_through_secret_key_refs(case: cases.Case) -> None:
    rendered = cases.render(case, overrides(case))
    secrets = {s["metadata"]["name"] for s in rendered.of_kind("Secret")}
    seen = 0
    for pod in pod_specs(rendered.docs):
        for container in pod.containers():
            for env in container.get("env") or []:
                if not CREDENTIAL_ENV.search(env["name"]):
                    continue
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                assert ref and "value" not in env, f"{pod.origin} {container['name']}: {env['name']} is not a secretKeyRef"
                assert ref["name"] in secrets, f"{pod.origin}: {env['name']} refers to {ref['name']}, not a Secret of this render"
                seen += 1
            flags = [a for a in [*(container.get("command") or []), *(container.get("args") or [])] if CREDENTIAL_FLAG.match(str(a))]
            assert not flags, f"{pod.origin} {container['name']}: credential on the command line: {flags}"
    assert seen, "no container received a credential: the sentinel values did not reach the pods"
