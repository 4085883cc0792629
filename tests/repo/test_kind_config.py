"""`make kind-up` builds nodes shaped like the simulated cluster's, so one set of tests fits both."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.support.tools import REPO

# `node NAME CPU MEMORY INSTANCE [GPUS PRODUCT]` lines of ci/cluster's nodes_manifest
NODE_LINE = re.compile(r"^\s+node (\S+) \S+ \S+ \S+(?: (\d+) (\S+)(?: (\S+))?)?$", re.M)


def simulated_nodes() -> dict[str, tuple[int, str | None, str]]:
    return {m[1]: (int(m[2] or 0), m[3], m[4] or "on-demand") for m in NODE_LINE.finditer((REPO / "ci" / "cluster").read_text())}


def kind_nodes() -> list[dict]:
    out = subprocess.run([str(REPO / "ci" / "kind"), "config"], capture_output=True, text=True, check=True).stdout
    config = yaml.safe_load(out)
    assert (config["kind"], config["apiVersion"]) == ("Cluster", "kind.x-k8s.io/v1alpha4")
    return config["nodes"]


def test_kind_has_one_control_plane_and_a_worker_per_simulated_node():
    nodes = kind_nodes()
    assert [n["role"] for n in nodes].count("control-plane") == 1
    workers = {n["labels"]["llmstack.io/kind-node"] for n in nodes if n["role"] == "worker"}
    assert workers == set(simulated_nodes()) and len(simulated_nodes()) == 6


def test_kind_gpu_workers_carry_the_simulated_gpus_labels_and_taint():
    shapes = simulated_nodes()
    for node in (n for n in kind_nodes() if n["role"] == "worker"):
        gpus, product, capacity = shapes[node["labels"]["llmstack.io/kind-node"]]
        labels = node["labels"]
        assert labels["karpenter.sh/capacity-type"] == capacity
        if gpus:
            assert (labels["nvidia.com/gpu.count"], labels["nvidia.com/gpu.product"]) == (str(gpus), product)
            [patch] = [yaml.safe_load(p) for p in node["kubeadmConfigPatches"]]
            assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in patch["nodeRegistration"]["taints"]
        else:
            assert "nvidia.com/gpu.present" not in labels and "kubeadmConfigPatches" not in node
