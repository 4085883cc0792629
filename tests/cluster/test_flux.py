"""The Flux examples in deploy/flux are accepted by the API server against Flux's CRDs.

The Flux controllers do not run here (they would need to fetch the Git repository),
so this checks what the API server decides: every example object is created with
strict field validation, and what it stored is what the example says. That the
values each HelmRelease names render with the chart is checked in the render tier
(tests/repo/test_flux_examples.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import yaml

from tests.support.tools import REPO

from .conftest import Cluster
from .kube import Kube, Namespaces
from .manifests import kubectl

EXAMPLES = sorted((REPO / "deploy" / "flux").glob("*.yaml"))
FLUX_API = {"GitRepository": ("source.toolkit.fluxcd.io", "v1", "gitrepositories"), "HelmRelease": ("helm.toolkit.fluxcd.io", "v2", "helmreleases")}


@pytest.fixture(scope="module")
def flux_namespaces(namespaces: Namespaces) -> Iterator[dict[str, str]]:
    """Stand-ins for the namespaces the examples name (flux-system, llm, monitoring)."""
    named = sorted({d["metadata"]["namespace"] for p in EXAMPLES for d in yaml.safe_load_all(p.read_text())})
    created = {n: namespaces.create(f"flux-{n}") for n in named}
    yield created
    for n in created.values():
        namespaces.delete(n)


def relocated(doc: dict, namespaces: dict[str, str]) -> dict:
    """The example with its namespaces, and its source reference's, mapped to the stand-ins."""
    doc["metadata"]["namespace"] = namespaces[doc["metadata"]["namespace"]]
    if doc["kind"] == "HelmRelease":
        ref = doc["spec"]["chart"]["spec"]["sourceRef"]
        ref["namespace"] = namespaces[ref["namespace"]]
    return doc


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_flux_example_is_created_and_stored_as_written(cluster: Cluster, kube: Kube, flux_namespaces: dict[str, str], path: Path):
    docs = [relocated(d, flux_namespaces) for d in yaml.safe_load_all(path.read_text()) if d]

    proc = kubectl(cluster, "apply", "--server-side", "--validate=strict", "--field-manager=llmstack-flux-test", manifest=yaml.safe_dump_all(docs))

    assert proc.returncode == 0, proc.stderr
    for doc in docs:
        group, version, plural = FLUX_API[doc["kind"]]
        stored = kube.custom.get_namespaced_custom_object(group, version, doc["metadata"]["namespace"], plural, doc["metadata"]["name"])
        # the API server may add defaults, but must keep every field the example sets
        assert_contains(stored["spec"], doc["spec"], f"{doc['kind']}/{doc['metadata']['name']}.spec")


def assert_contains(stored, written, where: str) -> None:
    if isinstance(written, dict):
        assert isinstance(stored, dict), where
        for key, value in written.items():
            assert key in stored, f"{where}.{key} was dropped by the API server"
            assert_contains(stored[key], value, f"{where}.{key}")
    else:
        assert stored == written, f"{where}: stored {stored!r}, example {written!r}"


def test_flux_rejects_an_unknown_helmrelease_field(cluster: Cluster, flux_namespaces: dict[str, str]):
    """Strict validation is on, so the test above would catch a misspelt field."""
    doc = relocated(next(d for d in yaml.safe_load_all(EXAMPLES[-1].read_text()) if d["kind"] == "HelmRelease"), flux_namespaces)
    doc["spec"]["valueFiles"] = ["./values/typo.yaml"]

    proc = kubectl(cluster, "apply", "--server-side", "--dry-run=server", "--validate=strict", manifest=yaml.safe_dump(doc))

    assert proc.returncode != 0 and ".spec.valueFiles: field not declared in schema" in proc.stderr
