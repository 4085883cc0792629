"""KEDA beside the live Prometheus, run as the KEDA chart runs it, but as host processes.

The pinned KEDA operator and metrics API server (ci/bootstrap builds both from KEDA's
Go module; no image can be pulled here) run on the host against the test cluster's API
server, like the KubeRay and Prometheus operators. The operator polls every
ScaledObject's triggers (vllm-standalone's Prometheus queries, against the tier's
Prometheus) and creates the ScaledObject's HPA; the metrics server serves the values
the operator read as external metrics (`external.metrics.k8s.io`), registered as an
APIService the API server routes to it (the aggregation layer ci/cluster configures),
and the kube-controller-manager's HPA controller reads them from there: the path a
real cluster takes.

The two talk gRPC over mutual TLS: a throwaway CA made here signs one certificate both
present, named as the KEDA chart names its Services.
"""

from __future__ import annotations

import base64
import os
import subprocess
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator

from kubernetes import client

from tests.cluster.kube import Kube, Namespaces, wait_for
from tests.support import processes
from tests.support.tools import tool

from .prometheus import free_port, tail
from .real_node import NODE_NAME

NAMESPACE = "keda"
METRICS_SERVER = "keda-metrics-apiserver"
OPERATOR_AUTHORITY = f"keda-operator.{NAMESPACE}.svc.cluster.local"
APISERVICE = "v1beta1.external.metrics.k8s.io"
READY_TIMEOUT_S = 120


def node_ip(kube: Kube) -> str:
    """The real node's InternalIP: an address of this host the API server reaches (it is the kubelet's)."""
    addresses = kube.core.read_node(NODE_NAME).status.addresses
    return next(a.address for a in addresses if a.type == "InternalIP")


def make_certs(directory: Path, host_ip: str) -> None:
    """ca.crt, tls.crt and tls.key, as KEDA reads them from its certificate directory."""
    sans = f"subjectAltName=DNS:{OPERATOR_AUTHORITY},DNS:{METRICS_SERVER}.{NAMESPACE}.svc,IP:127.0.0.1,IP:{host_ip}"
    ext = directory / "ext.cnf"
    ext.write_text(f"{sans}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
        ["openssl", "req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=llmstack-keda-ca"],
        ["openssl", "req", *curve, "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=keda"],
        ["openssl", "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
         "-out", "tls.crt", "-extfile", str(ext)],
    ):
        subprocess.run(command, cwd=directory, check=True, capture_output=True)


@contextmanager
def process(name: str, args: list[str], log_path: Path, env: dict[str, str], health_url: str | None) -> Iterator[None]:
    with log_path.open("w") as log:
        started = subprocess.Popen([tool(name), *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **env})
    try:
        if health_url:
            processes.wait_healthy(health_url, started, 60, lambda: tail(log_path), name)
        yield
    finally:
        processes.stop_group(started, 30)


def register_metrics_server(kube: Kube, host_ip: str, port: int, ca: bytes) -> None:
    """The Service the APIService names, with the host's address as its one endpoint."""
    kube.core.create_namespaced_service(NAMESPACE, {
        "metadata": {"name": METRICS_SERVER},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]},
    })
    # Endpoints and an EndpointSlice alike (the API server's routing reads one or the
    # other by version); the controller manager must not mirror the first into a second slice.
    kube.core.create_namespaced_endpoints(NAMESPACE, {
        "metadata": {"name": METRICS_SERVER, "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": host_ip}], "ports": [{"name": "https", "port": port}]}],
    })
    client.DiscoveryV1Api(kube.api).create_namespaced_endpoint_slice(NAMESPACE, {
        "metadata": {"name": METRICS_SERVER, "labels": {"kubernetes.io/service-name": METRICS_SERVER}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [host_ip], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    })
    client.ApiregistrationV1Api(kube.api).create_api_service({
        "metadata": {"name": APISERVICE},
        "spec": {
            "group": "external.metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100,
            "service": {"namespace": NAMESPACE, "name": METRICS_SERVER, "port": 443},
            "caBundle": base64.b64encode(ca).decode(),
        },
    })


def api_service_available(kube: Kube) -> dict[str, Any] | None:
    service = client.ApiregistrationV1Api(kube.api).read_api_service(APISERVICE)
    conditions = {c.type: c for c in service.status.conditions or []}
    available = conditions.get("Available")
    return {"message": available.message} if available and available.status == "True" else None


def describe_api_service(kube: Kube) -> str:
    service = client.ApiregistrationV1Api(kube.api).read_api_service(APISERVICE)
    return "\n".join(f"{c.type}={c.status}: {c.reason} {c.message}" for c in service.status.conditions or [])


@contextmanager
def running(kube: Kube, namespaces: Namespaces, cluster_dir: Path) -> Iterator[None]:
    """The KEDA operator and metrics server, the external metrics API served."""
    namespaces.create(NAMESPACE, exact=True)
    host_ip = node_ip(kube)
    certs = cluster_dir / "keda-certs"
    certs.mkdir()
    make_certs(certs, host_ip)
    kubeconfig = str(cluster_dir / "kubeconfig")
    # WATCH_NAMESPACE empty: every namespace, as the KEDA chart sets it by default. The
    # scalers' HTTP timeout is 10 s instead of 3 s: Prometheus on the busy 2-CPU node
    # answered a trigger's query in more than 3 s under load (the KEDA chart's `http.timeout`).
    env = {
        "KUBECONFIG": kubeconfig, "KEDA_CLUSTER_OBJECT_NAMESPACE": NAMESPACE, "POD_NAMESPACE": NAMESPACE, "WATCH_NAMESPACE": "",
        "KEDA_HTTP_DEFAULT_TIMEOUT": "10000",
    }
    grpc_port, operator_metrics, operator_health, server_port, server_metrics = (free_port() for _ in range(5))
    with ExitStack() as stack:
        stack.enter_context(process("keda-operator", [
            f"--metrics-bind-address=127.0.0.1:{operator_metrics}", f"--health-probe-bind-address=127.0.0.1:{operator_health}",
            f"--metrics-service-bind-address=127.0.0.1:{grpc_port}", f"--cert-dir={certs}", f"--ca-dir={certs}",
            "--enable-cert-rotation=false", "--enable-webhook-patching=false", "--enable-apiservice-patching=false",
            "--leader-elect=false", "--zap-log-level=info",
        ], cluster_dir / "keda-operator.log", env, f"http://127.0.0.1:{operator_health}/healthz"))
        stack.enter_context(process("keda-adapter", [
            f"--secure-port={server_port}", f"--bind-address={host_ip}", f"--port={server_metrics}",
            f"--cert-dir={certs}", f"--tls-cert-file={certs / 'tls.crt'}", f"--tls-private-key-file={certs / 'tls.key'}",
            f"--lister-kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
            f"--metrics-service-address=127.0.0.1:{grpc_port}", f"--metrics-service-grpc-authority={OPERATOR_AUTHORITY}",
        ], cluster_dir / "keda-adapter.log", env, None))
        register_metrics_server(kube, host_ip, server_port, (certs / "ca.crt").read_bytes())
        stack.callback(client.ApiregistrationV1Api(kube.api).delete_api_service, APISERVICE)
        wait_for("the external metrics API to be available", lambda: api_service_available(kube), READY_TIMEOUT_S,
                 lambda: f"{describe_api_service(kube)}\n--- keda-adapter.log\n{tail(cluster_dir / 'keda-adapter.log')}")
        yield


def external_metric(kube: Kube, namespace: str, metric: str, scaled_object: str) -> list[dict[str, Any]]:
    """The values the external metrics API serves for one trigger of a ScaledObject, asked as the
    HPA asks (its path has the shape of a namespaced list, the metric in place of a resource)."""
    body = kube.custom.list_namespaced_custom_object(
        "external.metrics.k8s.io", "v1beta1", namespace, metric, label_selector=f"scaledobject.keda.sh/name={scaled_object}",
    )
    return body["items"]
