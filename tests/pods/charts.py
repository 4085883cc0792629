"""Installing the charts on the real node and reaching what they serve, as a user would.

A release here runs real containers: the images ci/images built from
images/serve-app/Dockerfile.cpu, the KubeRay operator's head and worker pods, vLLM on
CPU. A release that does not come up fails with every pod's status, events and log
tail, so the failure says which container did what.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import openai
from kubernetes import client

from tests.cluster.kube import Kube, create_bound_claim, describe_namespace, wait_for
from tests.cluster.presets import TINY_CLAIM, TINY_CLAIM_SIZE
from tests.cluster.rayclusters import rayservice
from tests.support.tools import REPO

from .real_node import describe_pod

PRESETS = REPO / "values"
OVERLAYS = Path(__file__).parent / "values"
CHARTS = REPO / "charts"


@dataclass(frozen=True)
class Served:
    """A release that serves: its namespace, the URL of its OpenAI Service, and whether the
    first pod its Service routed to answered a chat at that very moment."""

    namespace: str
    url: str
    answered_when_first_ready: bool


def describe_release(kube: Kube, namespace: str) -> str:
    """The namespace's pods (status, events, container logs) and warnings, for a failure message."""
    parts = [describe_namespace(kube, namespace)]
    for pod in kube.core.list_namespaced_pod(namespace).items:
        parts.append(f"--- pod {pod.metadata.name}\n{describe_pod(kube, namespace, pod.metadata.name)}")
    return "\n".join(parts)


def rayservice_ready(kube: Kube, namespace: str) -> dict[str, Any] | None:
    service = rayservice(kube, namespace)
    conditions = service.get("status", {}).get("conditions", [])
    return service if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) else None


def wait_rayservice_ready(kube: Kube, namespace: str, timeout_s: float) -> dict[str, Any]:
    """The kuberay-llm release's RayService (tests.cluster.rayclusters) with its Ready condition true."""
    return wait_for(
        f"the RayService in {namespace} Ready", lambda: rayservice_ready(kube, namespace), timeout_s,
        lambda: describe_release(kube, namespace),
    )


def service_url(kube: Kube, namespace: str, name: str) -> str:
    """The Service's ClusterIP URL: from this host, kube-proxy routes it to the pods."""
    svc = kube.core.read_namespaced_service(name, namespace)
    return f"http://{svc.spec.cluster_ip}:{svc.spec.ports[0].port}"


def first_ready_endpoint(kube: Kube, namespace: str, service: str, timeout_s: float) -> str:
    """The URL (pod IP and port) of the Service's first endpoint marked ready, caught as it turns ready."""
    discovery = client.DiscoveryV1Api(kube.api)

    def ready() -> str | None:
        slices = discovery.list_namespaced_endpoint_slice(namespace, label_selector=f"kubernetes.io/service-name={service}").items
        for piece in slices:
            for endpoint in piece.endpoints or []:
                if endpoint.conditions.ready and piece.ports:
                    return f"http://{endpoint.addresses[0]}:{piece.ports[0].port}"
        return None

    return wait_for(f"a ready endpoint of Service {namespace}/{service}", ready, timeout_s, lambda: describe_release(kube, namespace))


def chat_answers(url: str, model: str) -> bool:
    """One short streamed chat, no retry: did text come back?"""
    try:
        return bool(streamed_chat(url, model, max_tokens=2)[0])
    except (openai.OpenAIError, httpx.HTTPError):
        return False


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/models", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def openai_client(url: str, api_key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=api_key, timeout=120, max_retries=0)


def streamed_chat(url: str, model: str, prompt: str = "Hello", max_tokens: int = 8) -> tuple[list[str], str | None]:
    """A streamed chat completion through the official client: (content chunks, finish_reason)."""
    chunks: list[str] = []
    finish = None
    stream = openai_client(url).chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, stream=True
    )
    for event in stream:
        for choice in event.choices:
            if choice.delta.content:
                chunks.append(choice.delta.content)
            finish = choice.finish_reason or finish
    return chunks, finish


def assert_streams_a_chat(url: str, model: str) -> None:
    chunks, finish = streamed_chat(url, model, max_tokens=8)
    assert len(chunks) >= 2, chunks
    assert finish in ("length", "stop")


@contextmanager
def staged_model(source: Path, name: str) -> Iterator[Path]:
    """A world-readable copy of the model, as ``<dir>/<name>``, for a hostPath volume of ``<dir>``.

    The model cache is readable by its owner only; the pods run as uid 1000.
    """
    parent = Path(tempfile.mkdtemp(prefix="llmstack-models-"))
    try:
        parent.chmod(0o755)
        target = parent / name
        shutil.copytree(source, target)
        for path in [target, *target.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH | (stat.S_IXGRP | stat.S_IXOTH if path.is_dir() else 0))
        yield target
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def create_model_claim(kube: Kube, namespace: str, host_dir: Path) -> None:
    """The claim the cpu-tiny presets read the model from, bound to a hostPath PV of ``host_dir``'s parent.

    A PV is cluster-scoped, so the restricted profile of the namespace (which forbids
    hostPath volumes in pods) does not apply to it, exactly as with a cluster admin's
    pre-provisioned volume. It is labelled with the namespace and deleted with it.
    """
    create_bound_claim(kube, namespace, TINY_CLAIM, TINY_CLAIM_SIZE, ["ReadOnlyMany"], host_path=str(host_dir.parent))
