"""`helm test` hooks of both serving charts, run against a real API server.

A kwok pod never runs its containers: it is marked Running and stays so, and only
Job-owned pods are completed. So `helm test` cannot pass or fail on the endpoint's
answer here; it must time out waiting. What can be asserted, is: helm creates the
hook pod, Pod Security admits it in a restricted namespace, the scheduler places it,
every URL it will call names a Service of the release on the Service's port, and the
API key reaches it only through a secretKeyRef.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from kubernetes import client

from .kube import Kube, describe_namespace, pods, wait_for
from .presets import API_KEY_KEY, API_KEY_SECRET, L4_PRESET, install_cpu_tiny, install_kuberay_llm
from .releases import RELEASE, create_secret

HOOK_TIMEOUT = "15s"  # how long `helm test` waits for the pod that kwok never completes
SCHEDULED_TIMEOUT_S = 60


def run_helm_test(helm, kube: Kube, namespace: str) -> client.V1Pod:
    """`helm test` (which must time out here) and the hook pod it created, once scheduled."""
    result = helm("test", RELEASE, "--namespace", namespace, "--timeout", HOOK_TIMEOUT, check=False)
    assert result.returncode != 0, "helm test passed although no container can run under kwok"
    assert "timed out" in result.stderr or "context deadline exceeded" in result.stderr, result.stderr

    def hook_pod():
        found = [p for p in pods(kube, namespace, {"app.kubernetes.io/instance": RELEASE}) if (p.metadata.annotations or {}).get("helm.sh/hook") == "test"]
        return found[0] if found and found[0].spec.node_name else None

    return wait_for("the helm test pod to be scheduled", hook_pod, SCHEDULED_TIMEOUT_S, lambda: describe_namespace(kube, namespace))


def urls_of(pod: client.V1Pod) -> list[str]:
    return [e.value for c in pod.spec.containers for e in c.env or [] if e.name.startswith("URL") and e.value]


def assert_urls_name_release_services(kube: Kube, namespace: str, pod: client.V1Pod) -> None:
    urls = urls_of(pod)
    assert urls, "the test pod calls no URL"
    for url in urls:
        parts = urlsplit(url)
        service, svc_namespace, *_ = parts.hostname.split(".")
        assert svc_namespace == namespace, url
        svc = kube.core.read_namespaced_service(service, namespace)
        assert parts.port in {p.port for p in svc.spec.ports}, f"{url}: Service {service} has no port {parts.port}"


def assert_api_key_by_reference(pod: client.V1Pod, env_name: str) -> None:
    [env] = [e for c in pod.spec.containers for e in c.env or [] if e.name == env_name]
    assert env.value is None
    assert (env.value_from.secret_key_ref.name, env.value_from.secret_key_ref.key) == (API_KEY_SECRET, API_KEY_KEY)


def test_vllm_standalone_test_hook_is_admitted_and_targets_its_services(helm, kube: Kube, namespace: str):
    create_secret(kube, namespace, API_KEY_SECRET, API_KEY_KEY, "test-api-key-not-secret")
    install_cpu_tiny(
        helm, kube, namespace,
        "--set", "apiKey.enabled=true", "--set", f"apiKey.existingSecret={API_KEY_SECRET}", "--set", f"apiKey.secretKey={API_KEY_KEY}",
    )

    pod = run_helm_test(helm, kube, namespace)

    assert pod.status.phase == "Running"  # kwok's stand-in for "started"; never Succeeded
    assert_urls_name_release_services(kube, namespace, pod)
    assert_api_key_by_reference(pod, "VLLM_API_KEY")


def test_kuberay_llm_test_hook_is_admitted_and_targets_the_openai_service(helm, kube: Kube, namespace: str):
    install_kuberay_llm(helm, kube, namespace, L4_PRESET)

    pod = run_helm_test(helm, kube, namespace)

    assert pod.status.phase == "Running"
    assert_urls_name_release_services(kube, namespace, pod)
    assert_api_key_by_reference(pod, "API_KEY")
