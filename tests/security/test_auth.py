"""API-key auth is on in every preset meant for a shared cluster, with the key (and the
Hugging Face token) referenced by Secret name, never written into a values file.

Only the cpu-tiny presets (a laptop or a CI job, where nobody else reaches the
endpoint) may run without a key.
"""

from __future__ import annotations

import pytest
import yaml

from tests.security import cases
from tests.security.credentials import credential_keys
from tests.support.pods import pod_specs
from tests.support import helm

PRESETS = [c for c in cases.cases(cases.WORKLOAD_CHARTS) if c.is_preset]
SHARED = [c for c in PRESETS if c.name not in cases.LOCAL_PRESETS | cases.GATEWAY_AUTH_PRESETS]
GATEWAY = [c for c in PRESETS if c.name in cases.GATEWAY_AUTH_PRESETS]


def api_key_env_refs(case: cases.Case, env_name: str) -> dict[str, str]:
    """Origin of each pod spec -> Secret name its `env_name` variable is read from."""
    refs = {}
    for pod in pod_specs(cases.render(case).docs):
        for container in pod.containers():
            for env in container.get("env") or []:
                if env["name"] == env_name:
                    refs[f"{pod.origin}:{container['name']}"] = env["valueFrom"]["secretKeyRef"]["name"]
    return refs


def test_every_chart_has_local_and_shared_cluster_presets() -> None:
    for chart in cases.WORKLOAD_CHARTS:
        names = {c.name for c in PRESETS if c.chart == chart}
        assert cases.LOCAL_PRESETS <= names and names - cases.LOCAL_PRESETS, chart


@pytest.mark.parametrize("case", SHARED, ids=[c.id for c in SHARED])
def test_shared_cluster_presets_require_an_api_key_from_an_existing_secret(case: cases.Case) -> None:
    values = cases.values(case)
    if case.chart == "kuberay-llm":
        auth = values["auth"]
        assert auth["enabled"] and auth["existingSecret"] and not auth["apiKey"], auth
        secret, env_name = auth["existingSecret"], auth["apiKeyEnv"]
        app = yaml.safe_load(cases.render(case).one("RayService")["spec"]["serveConfigV2"])["applications"][0]
        assert app["args"]["auth"] == {"enabled": True, "api_key_env": env_name}
    else:
        api = values["apiKey"]
        assert api["enabled"] and api["useExisting"] and api["existingSecret"] and not api["value"], api
        secret, env_name = api["existingSecret"], "VLLM_API_KEY"
    refs = api_key_env_refs(case, env_name)
    serving = [o for o in refs if "Pod/" not in o]  # the helm test pod reads the key too
    assert serving, f"no serving container reads {env_name}"
    assert set(refs.values()) == {secret}, refs


@pytest.mark.parametrize("case", GATEWAY, ids=[c.id for c in GATEWAY])
def test_gateway_auth_presets_say_so_and_cannot_enable_serve_app_auth(case: cases.Case) -> None:
    assert "gateway that" in case.values.read_text() and "authenticates" in case.values.read_text()
    error = helm.template_error(case.chart, [case.values], set_json={"auth": {"enabled": True, "existingSecret": "k"}})
    assert "auth.enabled is not supported" in error


@pytest.mark.parametrize("case", PRESETS, ids=[c.id for c in PRESETS])
def test_presets_never_carry_credential_values(case: cases.Case) -> None:
    preset = helm.load_yaml(case.values) or {}
    assert not credential_keys(preset)
