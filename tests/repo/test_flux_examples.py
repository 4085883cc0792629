"""The Flux examples in deploy/flux are valid against the pinned Flux CRDs and point at real paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.helm import template
from tests.support.kubeconform import validate
from tests.support.tools import REPO

EXAMPLES = sorted((REPO / "deploy" / "flux").glob("*.yaml"))


def test_there_is_a_helmrelease_for_every_chart():
    charts = {d["spec"]["chart"]["spec"]["chart"] for p in EXAMPLES for d in yaml.safe_load_all(p.read_text()) if d["kind"] == "HelmRelease"}
    assert charts == {f"./charts/{c.name}" for c in (REPO / "charts").iterdir() if (c / "Chart.yaml").is_file()}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_kubeconform_strict(path: Path):
    result = validate(path.read_text())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Skipped: 0" in result.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_refers_to_files_that_exist(path: Path):
    for doc in yaml.safe_load_all(path.read_text()):
        if doc["kind"] != "HelmRelease":
            continue
        spec = doc["spec"]["chart"]["spec"]
        assert (REPO / spec["chart"] / "Chart.yaml").is_file()
        for values in spec.get("valuesFiles", []):
            assert (REPO / values).is_file(), values


@pytest.mark.parametrize("path", [p for p in EXAMPLES if "helmrelease" in p.name], ids=lambda p: p.name)
def test_helmrelease_values_render_with_its_chart(path: Path, tmp_path: Path):
    """What helm-controller would install: the chart's values, then valuesFiles in order, then `values`."""
    [release] = [d for d in yaml.safe_load_all(path.read_text()) if d["kind"] == "HelmRelease"]
    spec = release["spec"]
    inline = tmp_path / "inline-values.yaml"
    inline.write_text(yaml.safe_dump(spec.get("values", {})))
    files = [REPO / f for f in spec["chart"]["spec"].get("valuesFiles", [])] + [inline]

    rendered = template(REPO / spec["chart"]["spec"]["chart"], files, release=release["metadata"]["name"], namespace=release["metadata"]["namespace"])

    assert rendered.docs, "the release renders nothing"
