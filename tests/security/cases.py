"""The renders the security tests cover: every chart's defaults, its ci/ scenarios and
its user-facing presets (values/<chart>/*.yaml), with helm's real renderer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.support import helm

CHARTS = ("kuberay-llm", "vllm-standalone", "observability")
# Charts that run pods (observability renders only monitoring objects).
WORKLOAD_CHARTS = ("kuberay-llm", "vllm-standalone")
RELEASE = "test"
NAMESPACE = "llm"
# Presets for a laptop or a CI job, where nobody else can reach the endpoint: the only
# ones allowed to run without an API key.
LOCAL_PRESETS = {"cpu-tiny"}
# Presets whose endpoint cannot run serve_app's API-key auth and must sit behind an
# authenticating gateway instead; each preset's header says so. Ray Serve LLM's P/D
# graph has its own ingress, which does not run serve_app's middleware.
GATEWAY_AUTH_PRESETS = {"llama-3.1-8b-prefill-decode"}


@dataclass(frozen=True)
class Case:
    """One chart rendered with one values file (None: the chart's own values.yaml)."""

    chart: str
    values: Path | None

    @property
    def source(self) -> str:
        if self.values is None:
            return "defaults"
        return "values" if self.values.parent == helm.PRESETS / self.chart else "ci"

    @property
    def name(self) -> str:
        return "defaults" if self.values is None else self.values.stem

    @property
    def id(self) -> str:
        return f"{self.chart}/{self.source}/{self.name}"

    @property
    def values_files(self) -> list[Path]:
        return [] if self.values is None else [self.values]

    @property
    def is_preset(self) -> bool:
        return self.source == "values"


def cases(charts: tuple[str, ...] = CHARTS) -> list[Case]:
    out: list[Case] = []
    for chart in charts:
        out.append(Case(chart, None))
        out += [Case(chart, p) for p in helm.ci_values(chart)]
        out += [Case(chart, p) for p in helm.presets(chart)]
    return sorted(out, key=lambda c: c.id)


def render(case: Case, set_json: dict | None = None) -> helm.Rendered:
    """The case rendered by helm, once per session (the tests only read renders)."""
    return _render(case, json.dumps(set_json or {}, sort_keys=True))


@cache
def _render(case: Case, set_json: str) -> helm.Rendered:
    return helm.template(case.chart, case.values_files, json.loads(set_json), release=RELEASE, namespace=NAMESPACE)


def merge(base: dict, override: dict) -> dict:
    """Helm's values merge: maps merge key by key, the override wins; lists are replaced."""
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def values(case: Case) -> dict:
    """The values a render of `case` sees (chart defaults, then the case's file)."""
    merged = helm.load_yaml(helm.CHARTS / case.chart / "values.yaml")
    for path in case.values_files:
        merged = merge(merged, helm.load_yaml(path) or {})
    return merged
