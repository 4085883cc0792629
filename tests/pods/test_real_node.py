"""The real node runs pods: containers start under runc, probes gate traffic, Services route.

These are the foundations the chart tests of this tier stand on: if a pod cannot run
here as the restricted Pod Security profile demands, or a Service does not reach it,
nothing a chart describes can.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest
from kubernetes import client

from tests.cluster.kube import Kube, wait_for

from .real_node import BASE_IMAGE, NODE_NAME, pod_on_real_node, restricted_container, run_in, wait_ready

HTTP_PORT = 8080
SERVICE_PORT = 80
# A tiny web server that serves one file holding the pod's token.
SERVE = ["sh", "-c", f'mkdir -p /tmp/www && printf %s "$TOKEN" > /tmp/www/token && exec python3 -m http.server {HTTP_PORT} -d /tmp/www']


def web_pod(name: str, token: str, probe_port: int = HTTP_PORT) -> dict:
    container = restricted_container(
        "web",
        SERVE,
        port=HTTP_PORT,
        env=[{"name": "TOKEN", "value": token}],
        readinessProbe={"httpGet": {"path": "/token", "port": probe_port}, "periodSeconds": 1},
        volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}],
    )
    pod = pod_on_real_node(name, {"app": name}, [container])
    pod["spec"]["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    return pod


def service(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": SERVICE_PORT, "targetPort": HTTP_PORT}]},
    }


@pytest.fixture
def web(kube: Kube, namespace: str) -> tuple[str, str]:
    """A ready web pod behind a ClusterIP Service: (namespace, token it serves)."""
    token = secrets.token_hex(8)
    kube.core.create_namespaced_pod(namespace, web_pod("web", token))
    kube.core.create_namespaced_service(namespace, service("web"))
    wait_ready(kube, namespace, "web")
    return namespace, token


def test_the_node_is_a_real_kubelet_on_containerd(kube: Kube):
    node = kube.core.read_node(NODE_NAME)
    info = node.status.node_info
    assert info.container_runtime_version.startswith("containerd://2."), info.container_runtime_version
    assert info.kubelet_version == kube.version.get_code().git_version
    assert "kwok.x-k8s.io/node" not in (node.metadata.annotations or {})
    assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)


def test_a_restricted_pod_runs_as_its_non_root_user(kube: Kube, web: tuple[str, str]):
    namespace, _ = web
    assert run_in(kube, namespace, "web", ["id", "-u"]).strip() == "1000"
    # No capabilities left in the running process (CapEff of PID 1 is all zeros).
    status = run_in(kube, namespace, "web", ["sh", "-c", "grep CapEff /proc/1/status"])
    assert status.split()[-1].strip("0") == "", status


def test_the_pod_serves_through_its_cluster_ip_service(kube: Kube, web: tuple[str, str]):
    namespace, token = web
    cluster_ip = kube.core.read_namespaced_service("web", namespace).spec.cluster_ip

    def answered() -> str | None:
        try:
            return httpx.get(f"http://{cluster_ip}:{SERVICE_PORT}/token", timeout=2).text
        except httpx.HTTPError:
            return None

    # kube-proxy programs the Service's rules a moment after the endpoints appear.
    assert wait_for(f"Service web ({cluster_ip}) to answer", answered, 30) == token


def test_container_logs_reach_the_api(kube: Kube, web: tuple[str, str]):
    namespace, _ = web
    wait_for("the probe's request in the log", lambda: "GET /token" in kube.core.read_namespaced_pod_log("web", namespace), 30)


def test_a_pod_failing_its_readiness_probe_gets_no_traffic(kube: Kube, namespace: str):
    kube.core.create_namespaced_pod(namespace, web_pod("unready", "x", probe_port=HTTP_PORT + 1))
    kube.core.create_namespaced_service(namespace, service("unready"))
    # The kubelet really probed and failed (a kubelet that never probed would also leave it unready).
    wait_for(
        "a failed readiness probe of pod unready",
        lambda: kube.core.list_namespaced_event(namespace, field_selector="involvedObject.name=unready,reason=Unhealthy").items,
        60,
    )
    pod = kube.core.read_namespaced_pod("unready", namespace)
    assert not any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
    slices = client.DiscoveryV1Api(kube.api).list_namespaced_endpoint_slice(namespace, label_selector="kubernetes.io/service-name=unready").items
    ready = [e for s in slices for e in s.endpoints or [] if e.conditions.ready]
    assert ready == []


def test_pods_have_no_route_off_the_machine(kube: Kube, web: tuple[str, str]):
    """Pod traffic reaches pods, Services and the host only: no default route in the pod."""
    namespace, _ = web
    routes = run_in(kube, namespace, "web", ["ip", "route"])
    assert routes.strip(), "ip route printed nothing"
    assert "default" not in routes, routes


def iptables_rules(table: str) -> list[str]:
    return subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True, check=True).stdout.splitlines()


def test_nothing_is_masqueraded_to_an_outside_interface(cluster_dir: Path):
    """Only kube-proxy's marked Service traffic is masqueraded, and the CNI bridge does not NAT."""
    rules = iptables_rules("nat")
    masquerade = [i for i, r in enumerate(rules) if "MASQUERADE" in r]
    assert masquerade, "expected kube-proxy's KUBE-POSTROUTING rule"
    assert all(rules[i].startswith("-A KUBE-POSTROUTING") for i in masquerade), [rules[i] for i in masquerade]
    # kube-proxy returns unmarked packets before its MASQUERADE: only Service traffic it
    # marked is rewritten, and that leaves through the bridge (pods have no other route).
    unmarked_return = rules.index("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN")
    assert unmarked_return < min(masquerade)


def test_the_guard_drops_pod_traffic_bound_for_any_other_interface_first(cluster_dir: Path):
    """The guard's jumps come first in mangle, ahead of everything the filter table (kube-proxy, kube-router) accepts."""
    rules = iptables_rules("mangle")
    forward = [r for r in rules if r.startswith("-A FORWARD ")]
    postrouting = [r for r in rules if r.startswith("-A POSTROUTING ")]
    assert forward[:1] == ["-A FORWARD -j LLMSTACK-NODE-GUARD"], forward
    assert postrouting[:1] == ["-A POSTROUTING -j LLMSTACK-NODE-GUARD-OUT"], postrouting
    assert "-A LLMSTACK-NODE-GUARD -i llmstack0 -j DROP" in rules
    assert "-A LLMSTACK-NODE-GUARD-OUT -d 10.244.0.0/16 ! -o llmstack0 -j DROP" in rules
    assert "-A LLMSTACK-NODE-GUARD-OUT -d 10.96.0.0/16 ! -o llmstack0 -j DROP" in rules


def test_the_cni_config_neither_masquerades_nor_routes_by_default(cluster_dir: Path):
    (conflist,) = (cluster_dir / "node" / "cni" / "net.d").glob("*.conflist")
    (bridge,) = [p for p in json.loads(conflist.read_text())["plugins"] if p["type"] == "bridge"]
    assert bridge.get("ipMasq") is False
    assert bridge.get("isDefaultGateway") is not True
    routes = bridge["ipam"].get("routes", [])
    assert routes and all(r["dst"] not in ("0.0.0.0/0", "::/0") for r in routes), routes


def test_the_image_is_the_one_on_the_node_not_pulled(kube: Kube, web: tuple[str, str]):
    namespace, _ = web
    status = kube.core.read_namespaced_pod("web", namespace).status.container_statuses[0]
    assert status.image == BASE_IMAGE
    pulled = kube.core.list_namespaced_event(namespace, field_selector="involvedObject.name=web,reason=Pulled").items
    assert pulled and all("already present on machine" in e.message for e in pulled), [e.message for e in pulled]
