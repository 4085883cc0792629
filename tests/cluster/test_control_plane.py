"""The cluster the other cluster tests rely on: pinned version, GPU nodes, CRDs."""

from __future__ import annotations

import json
import re

import yaml

from tests.support.tools import crds_dir, versions

from .kube import GPU, GPU_PRODUCT_LABEL, Kube

# product label -> GPUs each such node advertises (the nodes ci/cluster creates)
GPU_NODES = {"NVIDIA-H100-80GB-HBM3": 8, "NVIDIA-L4": 1}
NODES_PER_GPU_PRODUCT = 2


def expected_crd_names() -> set[str]:
    """Names of the CRDs in crds_dir(), read from each document's header.

    Parsing the ~10 MB of schemas takes seconds; apiVersion, kind and metadata come
    before the top-level `spec:` in every manifest, so only that part is parsed.
    """
    names = set()
    for path in crds_dir().glob("*.yaml"):
        for doc in re.split(r"^---\s*$", path.read_text(), flags=re.M):
            header = yaml.safe_load(re.split(r"^spec:", doc, maxsplit=1, flags=re.M)[0])
            if header and header.get("kind") == "CustomResourceDefinition":
                names.add(header["metadata"]["name"])
    return names


def test_control_plane_reports_the_pinned_kubernetes_version(kube: Kube):
    assert kube.version.get_code().git_version == versions()["KUBERNETES_VERSION"]


def test_every_node_is_ready(kube: Kube):
    nodes = kube.core.list_node().items
    assert nodes
    not_ready = [
        n.metadata.name
        for n in nodes
        if not any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    ]
    assert not_ready == []


def test_fake_gpu_nodes_advertise_allocatable_gpus(kube: Kube):
    by_product: dict[str, list[str]] = {}
    for n in kube.core.list_node().items:
        product = (n.metadata.labels or {}).get(GPU_PRODUCT_LABEL)
        if product in GPU_NODES:
            assert (n.status.allocatable or {}).get(GPU) == str(GPU_NODES[product]), n.metadata.name
            assert (n.status.capacity or {}).get(GPU) == str(GPU_NODES[product]), n.metadata.name
            assert any(t.key == GPU and t.effect == "NoSchedule" for t in n.spec.taints or []), n.metadata.name
            by_product.setdefault(product, []).append(n.metadata.name)
    assert {p: len(names) for p, names in by_product.items()} == {p: NODES_PER_GPU_PRODUCT for p in GPU_NODES}


def test_cpu_nodes_advertise_no_gpus(kube: Kube):
    cpu_nodes = [n for n in kube.core.list_node().items if GPU_PRODUCT_LABEL not in (n.metadata.labels or {})]
    assert cpu_nodes
    assert [n.metadata.name for n in cpu_nodes if GPU in (n.status.allocatable or {})] == []


def test_every_pinned_crd_is_established(kube: Kube):
    expected = expected_crd_names()
    # ~10 MB of schemas: read the raw JSON instead of building client model objects
    items = json.loads(kube.crds.list_custom_resource_definition(_preload_content=False).data)["items"]
    established = {
        crd["metadata"]["name"]
        for crd in items
        if any(c["type"] == "Established" and c["status"] == "True" for c in crd.get("status", {}).get("conditions", []))
    }
    assert expected, f"no CRD manifests found in {crds_dir()}"
    assert sorted(expected - established) == []
