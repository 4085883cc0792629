"""How each chart is installed in the simulated cluster: one place for every test module.

A preset names Secrets and volumes that users create before `helm install`; the
cluster has no storage provisioner, so claims need a static volume bound to them.
The chart tests, the `helm test` hook tests and the upgrade-from-release tests all
install the same presets the same way, so the Secrets, claims and values overlays
they need are defined here once, not in one test module that the others import.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.tools import REPO

from .kube import Kube, bind_pending_claims, create_bound_claim
from .releases import RELEASE, create_secret, values_args

# ---------------------------------------------------------------- the Secrets the GPU presets name
# (their headers tell users to create them; tokens are never the chart's to create)
HF_TOKEN_SECRET, HF_TOKEN_KEY = "hf-token", "token"
API_KEY_SECRET, API_KEY_KEY = "llm-api-key", "api-key"

# ---------------------------------------------------------------- kuberay-llm
KUBERAY_CHART = REPO / "charts" / "kuberay-llm"
KUBERAY_PRESETS = REPO / "values" / "kuberay-llm"
L4_PRESET = KUBERAY_PRESETS / "llama-3.1-8b-2x1gpu.yaml"

# ---------------------------------------------------------------- vllm-standalone
VLLM_CHART = REPO / "charts" / "vllm-standalone"
VLLM_PRESETS = REPO / "values" / "vllm-standalone"
CPU_TINY = VLLM_PRESETS / "cpu-tiny.yaml"
H100_TP4 = VLLM_PRESETS / "llama-3.1-70b-tp4-h100.yaml"
# cpu-tiny mounts a hostPath, which a restricted namespace refuses; this overlay swaps it
# for an existing claim, as the preset's header tells shared-cluster users to do.
EXISTING_CLAIM = Path(__file__).parent / "values" / "cpu-tiny-existing-claim.yaml"
TINY_CLAIM = "tiny-models"  # named in EXISTING_CLAIM
TINY_CLAIM_SIZE = "1Gi"


def prepare_gpu_preset_namespace(kube: Kube, namespace: str) -> None:
    """The Secrets every GPU preset reads: the model hub token and the endpoint's API key."""
    create_secret(kube, namespace, HF_TOKEN_SECRET, HF_TOKEN_KEY, "hf_test_not_a_token")
    create_secret(kube, namespace, API_KEY_SECRET, API_KEY_KEY, "test-api-key-not-secret")


def prepare_cpu_tiny_namespace(kube: Kube, namespace: str) -> list[Path]:
    """The Bound model claim cpu-tiny needs in a restricted namespace; returns the overlay naming it."""
    create_bound_claim(kube, namespace, TINY_CLAIM, TINY_CLAIM_SIZE, ["ReadWriteOnce"])
    return [EXISTING_CLAIM]


def install_gpu_preset(helm, kube: Kube, namespace: str, chart: Path, values: Path, *extra: str) -> None:
    """A GPU preset as shipped (plus `extra`), with its Secrets, and its model claim bound."""
    prepare_gpu_preset_namespace(kube, namespace)
    helm("install", RELEASE, chart, "--namespace", namespace, *values_args(values), *extra)
    # the preset's model claim: no provisioner here, so bind it to a static volume
    bind_pending_claims(kube, namespace)


def install_kuberay_llm(helm, kube: Kube, namespace: str, values: Path, *extra: str) -> None:
    install_gpu_preset(helm, kube, namespace, KUBERAY_CHART, values, *extra)


def install_cpu_tiny(helm, kube: Kube, namespace: str, *extra: str) -> None:
    """cpu-tiny with its model claim, the way a restricted namespace must run it."""
    overlays = prepare_cpu_tiny_namespace(kube, namespace)
    helm("install", RELEASE, VLLM_CHART, "--namespace", namespace, *values_args(CPU_TINY, *overlays), *extra)


def upgrade_cpu_tiny(helm, namespace: str, *extra: str) -> None:
    helm("upgrade", RELEASE, VLLM_CHART, "--namespace", namespace, *values_args(CPU_TINY, EXISTING_CLAIM), *extra)


def install_h100_preset(helm, kube: Kube, namespace: str, *extra: str) -> None:
    """The 70B vllm-standalone preset."""
    install_gpu_preset(helm, kube, namespace, VLLM_CHART, H100_TP4, *extra)
