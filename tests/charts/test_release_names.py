"""Every object name a release can produce is valid and unique for its kind, for any
release name Helm accepts; where it cannot be, the chart fails saying which value
(fullnameOverride) shortens or fixes it.

Helm accepts release names of up to 53 characters made of lowercase letters, digits,
`-` and `.`, starting with either a letter or a digit. Each chart renders everything it
can (its ci/99-everything-values.yaml) under names at those edges.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support import bad_inputs, helm

CHARTS = ("kuberay-llm", "vllm-standalone", "observability")
RELEASES = {
    "short": "r",
    "longest-helm-allows": "r" * 53,
    "dotted": "team.llm",
    "dotted-long": "team.monitoring." + "x" * 37,
    "leading-digit": "1st",
}
SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Kinds whose name must be a DNS-1035 label (a Service), or a DNS-1123 label (used as a
# label value or hostname by the objects' controllers).
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_KINDS = {"Deployment", "StatefulSet", "RayService"}


def name_problems(docs: list[dict]) -> list[str]:
    problems, seen = [], set()
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if (kind, name) in seen:
            problems.append(f"two {kind} objects named {name}")
        seen.add((kind, name))
        if len(name) > 253 or not SUBDOMAIN.fullmatch(name):
            problems.append(f"{kind} {name}: not a DNS-1123 subdomain")
        if kind == "Service" and (len(name) > 63 or not DNS_1035.fullmatch(name)):
            problems.append(f"Service {name}: not a DNS-1035 label")
        if kind in LABEL_KINDS and len(name) > 63:
            problems.append(f"{kind} {name}: longer than 63 characters")
    return problems


@pytest.mark.parametrize("release", RELEASES.values(), ids=RELEASES.keys())
@pytest.mark.parametrize("chart", CHARTS)
def test_names_are_valid_and_unique_or_the_chart_names_the_override(chart: str, release: str):
    proc = helm.template_process(chart, [helm.CHARTS / chart / "ci" / "99-everything-values.yaml"], release=release)
    if proc.returncode != 0:
        verdict = bad_inputs.Verdict(False, proc.stderr, "")
        assert not verdict.traced and "fullnameOverride" in proc.stderr, proc.stderr
        return
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert docs
    assert not name_problems(docs), name_problems(docs)
