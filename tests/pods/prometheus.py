"""A live Prometheus on the real node, run the way a platform team runs one.

The real prometheus-operator (built from its pinned Go module, running on the host
like the KubeRay operator) turns a Prometheus resource into a StatefulSet on the real
node: Prometheus and the operator's config reloader, from images ci/images built. The
operator writes the scrape configuration from every ServiceMonitor and PodMonitor and
the rule files from every PrometheusRule in the cluster, as it would for
kube-prometheus-stack. The observability chart is installed beside it with short
intervals, so a test sees targets and rule results within seconds.

The tests read Prometheus's HTTP API from the host: the node reaches its pods.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

import httpx
from kubernetes import client

from tests.cluster.kube import RESTRICTED, Kube, Namespaces, describe_namespace, wait_for
from tests.support import processes
from tests.support.tools import REPO, tool, versions

from .real_node import NODE_SELECTOR, NODE_TOLERATION, describe_pod

NAMESPACE = "monitoring"
NAME = "llmstack"
GROUP, VERSION = "monitoring.coreos.com", "v1"
# Short enough that a target shows up and a rule evaluates within seconds of a release
# turning ready; rate() windows in the rules need two scrapes.
INTERVAL = "5s"
OBSERVABILITY_VALUES = Path(__file__).parent / "values" / "observability.yaml"
READY_TIMEOUT_S = 180
# A monitor created after Prometheus: the operator rewrites the config Secret, the
# kubelet refreshes the pod's copy on its next sync (every minute, with jitter), the
# reloader reloads, the first scrape: 36 s to over 120 s measured on this machine.
TARGET_TIMEOUT_S = 300
# Recording rules need two scrapes with traffic between them, then an evaluation; a
# PrometheusRule created after Prometheus first waits for its config reload (as above).
RULES_TIMEOUT_S = 300
# Recorded series that cannot exist here, by (the rule's source label, record), with
# the reason. Every other recording rule of a release's source must record it.
NO_SERIES_HERE = {
    ("ray", "llmstack:num_preemptions:rate5m"): (
        "Ray exports a counter only after its first increment, and a preemption needs an exhausted KV cache, which the "
        "cpu-tiny preset's 256 MiB never is (vLLM's own server exports the counter at 0, so the vllm rule records)"
    ),
    ("ray", "llmstack:http_request_errors:rate5m"): "counts 5xx answers only, and the load here gets none",
    ("vllm", "llmstack:http_request_errors:rate5m"): "counts 5xx answers only, and vLLM's server answers none here (it queues, never sheds)",
}
# A prompt of several KV cache blocks, sent again and again: vLLM's prefix cache hits
# (a counter Ray exports only once it moves) need a repeated prefix of whole blocks.
SHARED_PROMPT = " ".join(["The scheduler keeps every running sequence's blocks in the paged cache."] * 8)


def prometheus_release() -> str:
    """The Prometheus release of the pinned Go module, as ci/lib.sh derives it for the image's tag."""
    script = f". {REPO / 'ci' / 'lib.sh'}; prometheus_release"
    return subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True).stdout.strip()


def image(name: str, tag: str) -> str:
    """An image ci/images built (its NAMES table) and ci/node imported into containerd."""
    return f"localhost/llmstack/{name}:{tag}"


@dataclass(frozen=True)
class Prometheus:
    url: str

    def api(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now."""
        return self.api("query", query=expr)["result"]

    def active_targets(self) -> list[dict[str, Any]]:
        return self.api("targets", state="active")["activeTargets"]

    def rule_groups(self) -> list[dict[str, Any]]:
        return self.api("rules")["groups"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def operator(cluster_dir: Path) -> Iterator[None]:
    """The prometheus-operator process, against the test cluster's API server."""
    port = free_port()
    log_path = cluster_dir / "prometheus-operator.log"
    reloader = image("prometheus-config-reloader", versions()["PROMETHEUS_OPERATOR_VERSION"])
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [tool("prometheus-operator"), f"--prometheus-config-reloader={reloader}", f"--web.listen-address=127.0.0.1:{port}",
             # No CPU request (see prometheus_resource); no limit, which would throttle the reloader.
             "--config-reloader-cpu-request=0", "--config-reloader-cpu-limit=0", "--log-level=info"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "KUBECONFIG": str(cluster_dir / "kubeconfig")},
        )
    try:
        processes.wait_healthy(f"http://127.0.0.1:{port}/healthz", process, 60, lambda: tail(log_path), "prometheus-operator")
        yield
    finally:
        processes.stop_group(process, 30)


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def create_rbac(kube: Kube) -> None:
    """What Prometheus needs to discover and scrape pods in every namespace."""
    core = kube.core
    rbac = client.RbacAuthorizationV1Api(kube.api)
    core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": NAME}})
    rbac.create_cluster_role({
        "metadata": {"name": f"{NAME}-prometheus"},
        "rules": [
            {"apiGroups": [""], "resources": ["pods", "services", "endpoints", "nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        ],
    })
    rbac.create_cluster_role_binding({
        "metadata": {"name": f"{NAME}-prometheus"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{NAME}-prometheus"},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
    })


def delete_rbac(kube: Kube) -> None:
    rbac = client.RbacAuthorizationV1Api(kube.api)
    for delete in (rbac.delete_cluster_role_binding, rbac.delete_cluster_role):
        try:
            delete(f"{NAME}-prometheus")
        except client.ApiException:
            pass


def prometheus_resource() -> dict[str, Any]:
    """A Prometheus that selects every monitor and rule in the cluster, on the real node."""
    release = prometheus_release()
    everything: dict[str, Any] = {}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Prometheus",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {
            "image": image("prometheus", release),
            "version": release,
            "replicas": 1,
            "serviceAccountName": NAME,
            "scrapeInterval": INTERVAL,
            "evaluationInterval": INTERVAL,
            "serviceMonitorSelector": everything,
            "serviceMonitorNamespaceSelector": everything,
            "podMonitorSelector": everything,
            "podMonitorNamespaceSelector": everything,
            "ruleSelector": everything,
            "ruleNamespaceSelector": everything,
            "nodeSelector": NODE_SELECTOR,
            "tolerations": [NODE_TOLERATION],
            # No CPU request: the workloads' own requests fill the node's 2 CPUs (vllm-standalone's
            # rolling update runs two 1-CPU engines), and the scheduler counts requests only.
            "resources": {"requests": {"memory": "200Mi"}, "limits": {"memory": "600Mi"}},
            "securityContext": {
                "runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        },
    }


def pod_ip(kube: Kube) -> str | None:
    """The Prometheus pod's IP once it is ready."""
    for pod in kube.core.list_namespaced_pod(NAMESPACE, label_selector=f"prometheus={NAME}").items:
        ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
        if ready and pod.status.pod_ip:
            return pod.status.pod_ip
    return None


def describe(kube: Kube, cluster_dir: Path) -> str:
    parts = [describe_namespace(kube, NAMESPACE)]
    for pod in kube.core.list_namespaced_pod(NAMESPACE).items:
        parts.append(f"--- pod {pod.metadata.name}\n{describe_pod(kube, NAMESPACE, pod.metadata.name)}")
    parts.append(f"--- prometheus-operator log\n{tail(cluster_dir / 'prometheus-operator.log')}")
    return "\n".join(parts)


@contextmanager
def running(kube: Kube, namespaces: Namespaces, cluster_dir: Path) -> Iterator[Prometheus]:
    """The operator, a ready Prometheus on the real node and its HTTP API's URL."""
    namespaces.create(NAMESPACE, RESTRICTED, exact=True)
    create_rbac(kube)
    try:
        with operator(cluster_dir):
            kube.custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "prometheuses", prometheus_resource())
            ip = wait_for("the Prometheus pod ready", lambda: pod_ip(kube), READY_TIMEOUT_S, lambda: describe(kube, cluster_dir))
            yield Prometheus(f"http://{ip}:9090")
            kube.custom.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "prometheuses", NAME)
    finally:
        delete_rbac(kube)
        namespaces.delete(NAMESPACE)


def scrape_pool(monitor: dict[str, Any], index: int = 0) -> str:
    """The scrape pool name the operator gives a monitor's endpoint."""
    kind = "podMonitor" if monitor["kind"] == "PodMonitor" else "serviceMonitor"
    return f"{kind}/{monitor['metadata']['namespace']}/{monitor['metadata']['name']}/{index}"


def monitors(kube: Kube) -> list[dict[str, Any]]:
    """Every PodMonitor and ServiceMonitor in the cluster."""
    found = []
    for plural in ("podmonitors", "servicemonitors"):
        found += kube.custom.list_cluster_custom_object(GROUP, VERSION, plural)["items"]
    return found


def scrape_pools(monitor: dict[str, Any]) -> list[str]:
    """The scrape pools the operator makes of a monitor: one per endpoint."""
    spec = monitor["spec"]
    endpoints = spec.get("podMetricsEndpoints") or spec.get("endpoints") or []
    kind = "podMonitor" if monitor["kind"] == "PodMonitor" else "serviceMonitor"
    meta = monitor["metadata"]
    return [f"{kind}/{meta['namespace']}/{meta['name']}/{i}" for i in range(len(endpoints))]


def selects(monitor: dict[str, Any], namespace: str, labels: dict[str, str]) -> bool:
    """Whether the monitor picks an object (a pod for a PodMonitor, a Service for a
    ServiceMonitor) with these labels in that namespace; its namespaceSelector's `{}`
    is the monitor's own namespace, as the operator reads it."""
    spec = monitor["spec"]
    wanted = spec.get("selector", {}).get("matchLabels", {})
    if any(labels.get(key) != value for key, value in wanted.items()):
        return False
    namespaces = spec.get("namespaceSelector", {})
    return bool(namespaces.get("any")) or namespace in (namespaces.get("matchNames") or [monitor["metadata"]["namespace"]])


def monitors_of(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    """The monitors, anywhere in the cluster, that pick a pod or Service of ``namespace``."""
    pods = [p.metadata.labels or {} for p in kube.core.list_namespaced_pod(namespace).items]
    services = [s.metadata.labels or {} for s in kube.core.list_namespaced_service(namespace).items]
    return [
        m for m in monitors(kube)
        if any(selects(m, namespace, labels) for labels in (pods if m["kind"] == "PodMonitor" else services))
    ]


def targets_up(server: Prometheus, pool: str, hosts: set[str]) -> list[dict[str, Any]] | None:
    """The pool's targets once they are exactly ``hosts`` (pod IPs) and every one is up."""
    targets = [t for t in server.active_targets() if t["scrapePool"] == pool]
    if {urlparse(t["scrapeUrl"]).hostname for t in targets} == hosts and all(t["health"] == "up" for t in targets):
        return targets
    return None


def describe_targets(server: Prometheus) -> str:
    """Every active target with its health and last error, for a failure message."""
    return json.dumps(
        [{k: t.get(k) for k in ("scrapePool", "scrapeUrl", "health", "lastError")} for t in server.active_targets()], indent=1
    )


def assert_monitors_scrape(kube: Kube, server: Prometheus, namespace: str, hosts: set[str], expected: set[tuple[str, str]]) -> None:
    """Every monitor picking the release's pods has each of ``hosts`` as an up target.

    ``expected`` lists (kind, namespace) of monitors that must be among them, so a chart
    whose monitor stopped selecting its pods fails here instead of being skipped.
    """
    found = monitors_of(kube, namespace)
    assert expected <= {(m["kind"], m["metadata"]["namespace"]) for m in found}, [m["metadata"] for m in found]
    for monitor in found:
        for pool in scrape_pools(monitor):
            wait_for(f"Prometheus scraping {sorted(hosts)} up in {pool}", lambda: targets_up(server, pool, hosts), TARGET_TIMEOUT_S,
                     lambda: describe_targets(server))


def recording_rules(server: Prometheus, group: str) -> list[dict[str, Any]] | None:
    """The recording rules of a rule group (by name) as Prometheus loaded them; None until it is loaded."""
    loaded = [g for g in server.rule_groups() if g["name"] == group]
    return [r for r in loaded[0]["rules"] if r["type"] == "recording"] if loaded else None


def selector(rule: dict[str, Any], namespace: str) -> str:
    """The rule's output series for one namespace: its name and the labels it adds."""
    labels = {**rule.get("labels", {}), "namespace": namespace}
    return rule["name"] + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def unrecorded(server: Prometheus, group: str, namespace: str) -> dict[str, str]:
    """Output series of the group's rules with no sample for ``namespace`` (and why, from the rule's health)."""
    rules = recording_rules(server, group)
    if rules is None:
        return {group: "not loaded yet"}
    missing = {}
    for rule in rules:
        if (rule.get("labels", {}).get("source"), rule["name"]) in NO_SERIES_HERE:
            continue
        query = selector(rule, namespace)
        if not server.query(query):
            missing[query] = rule.get("lastError") or rule["health"]
    return missing


def assert_rules_record(server: Prometheus, group: str, namespace: str, send_request: Callable[[], object]) -> None:
    """Under a short load (one request per poll), every recording rule of ``group`` records a
    series for the release's namespace, except those NO_SERIES_HERE names."""
    last: dict[str, str] = {}

    def all_recorded() -> bool:
        send_request()
        last.clear()
        last.update(unrecorded(server, group, namespace))
        return not last

    wait_for(f"every recording rule of {group} to record {namespace}", all_recorded, RULES_TIMEOUT_S, lambda: json.dumps(last, indent=1))
