"""NetworkPolicies are on in every render and open exactly what the stack needs.

kuberay-llm: Ray's internal ports (GCS, client, raylet, object manager, agents, worker
range, collective ports) only between the release's Ray pods; Serve (8000) from the
configured callers; the dashboard (8265) from the KubeRay operator and an explicit
allowlist only; metrics (8080) from Prometheus. vllm-standalone: the engines' http
port only, from the configured callers and Prometheus. Both: DNS egress, and the
`helm test` pod may only call the serving port. No rule admits everyone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.security import cases
from tests.support.pods import pod_specs

CASES = cases.cases(cases.WORKLOAD_CHARTS)
IDS = [c.id for c in CASES]
RAY_CASES = [c for c in CASES if c.chart == "kuberay-llm"]
VLLM_CASES = [c for c in CASES if c.chart == "vllm-standalone"]
SERVE_PORT, DASHBOARD_PORT, METRICS_PORT = 8000, 8265, 8080
DNS = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels and matchExpressions)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, vals = e["key"], e["operator"], e.get("values") or []
        if (op == "In" and labels.get(key) not in vals) or (op == "NotIn" and labels.get(key) in vals) \
                or (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def component(doc: dict) -> str | None:
    return doc["metadata"]["labels"].get("app.kubernetes.io/component")


def policies(case: cases.Case) -> tuple[list[dict], list[dict]]:
    """(workload policies, helm-test-pod policies) of the case's render."""
    rendered = cases.render(case)
    all_ = rendered.of_kind("NetworkPolicy")
    return [p for p in all_ if component(p) != "test"], [p for p in all_ if component(p) == "test"]


def port_set(ports: list[dict]) -> set[tuple[Any, Any]]:
    return {(p["port"], p.get("endPort")) for p in ports}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_pod_is_selected_by_a_network_policy(case: cases.Case) -> None:
    rendered = cases.render(case)
    selectors = [p["spec"]["podSelector"] for p in rendered.of_kind("NetworkPolicy")]
    assert selectors, "NetworkPolicies must be on by default"
    for pod in pod_specs(rendered.docs):
        assert any(selects(s, pod.labels) for s in selectors), f"{pod.origin} is selected by no NetworkPolicy"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_ingress_rule_admits_everyone(case: cases.Case) -> None:
    for policy in cases.render(case).of_kind("NetworkPolicy"):
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        for rule in spec.get("ingress") or []:
            assert rule.get("from") and rule.get("ports"), f"{policy['metadata']['name']}: rule without peers or ports: {rule}"
            for peer in rule["from"]:
                assert peer, "an empty peer admits every pod of every namespace"
                assert not (peer.get("namespaceSelector") == {} and "podSelector" not in peer), f"every namespace: {peer}"
                assert (peer.get("ipBlock") or {}).get("cidr") not in OPEN_CIDRS, f"every address: {peer}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_policy_allows_dns_egress(case: cases.Case) -> None:
    for policy in cases.render(case).of_kind("NetworkPolicy"):
        assert policy["spec"]["egress"][0]["ports"] == DNS


@pytest.mark.parametrize("case", RAY_CASES, ids=[c.id for c in RAY_CASES])
def test_ray_ports_are_open_only_between_the_release_ray_pods(case: cases.Case) -> None:
    rendered = cases.render(case)
    values = cases.values(case)
    [policy], _ = policies(case)
    ray_pods = policy["spec"]["podSelector"]
    cluster = rendered.one("RayService")["spec"]["rayClusterConfig"]
    params = [cluster["headGroupSpec"]["rayStartParams"], *(g["rayStartParams"] for g in cluster["workerGroupSpecs"])]
    ray_ports = {(int(v), None) for p in params for k, v in p.items() if k == "port" or (k.endswith("-port") and "worker-port" not in k)}
    worker_range = {(int(p["min-worker-port"]), int(p["max-worker-port"])) for p in params}
    expected = ray_ports | worker_range | {(SERVE_PORT, None)} | port_set(values["networkPolicy"]["intraCluster"]["extraPorts"])

    intra, *others = policy["spec"]["ingress"]
    assert intra["from"] == [{"podSelector": ray_pods}]
    assert port_set(intra["ports"]) == expected
    extra = values["networkPolicy"]["extraIngress"]
    chart_rules = others[: len(others) - len(extra)] if extra else others
    internal = {port for port, _ in ray_ports} - {DASHBOARD_PORT, METRICS_PORT}
    for rule in chart_rules:
        opened = {p["port"] for p in rule["ports"]}
        assert opened <= {SERVE_PORT, DASHBOARD_PORT, METRICS_PORT} and not opened & internal, rule
        if DASHBOARD_PORT in opened:
            allowed = values["networkPolicy"]["operator"]["from"] + values["networkPolicy"]["dashboard"]["from"]
            assert all(peer in allowed for peer in rule["from"]), f"dashboard open to {rule['from']}"
        if METRICS_PORT in opened:
            assert rule["from"] == values["networkPolicy"]["metrics"]["from"]


@pytest.mark.parametrize("case", VLLM_CASES, ids=[c.id for c in VLLM_CASES])
def test_engines_admit_only_their_http_port_from_the_configured_callers(case: cases.Case) -> None:
    values = cases.values(case)
    np = values["networkPolicy"]
    [policy], _ = policies(case)
    rules = policy["spec"]["ingress"]
    chart_rules = rules[: len(rules) - len(np["extraIngress"])] if np["extraIngress"] else rules
    callers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}} for n in np["ingress"]["namespaces"]]
    callers += np["ingress"]["peers"]
    prometheus = [{"namespaceSelector": np["ingress"]["prometheus"]["namespaceSelector"],
                   "podSelector": np["ingress"]["prometheus"]["podSelector"]}]
    peers = [rule["from"] for rule in chart_rules]
    for rule in chart_rules:
        assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    expected = []
    if callers or values["tests"]["enabled"]:
        expected.append(callers + ([{"podSelector": {"matchLabels": helm_test_pod_labels(case)}}] if values["tests"]["enabled"] else []))
    if np["ingress"]["prometheus"]["enabled"]:
        expected.append(prometheus)
    assert peers == expected
    for deployment in cases.render(case).of_kind("Deployment"):
        [engine] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm"]
        assert engine["ports"] == [{"name": "http", "containerPort": SERVE_PORT, "protocol": "TCP"}]


def helm_test_pod_labels(case: cases.Case) -> dict[str, str]:
    """Selector labels of the chart's helm test pod, read from the rendered pod."""
    [pod] = [d for d in cases.render(case).of_kind("Pod") if component(d) == "test"]
    return {k: pod["metadata"]["labels"][k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_helm_test_pod_accepts_nothing_and_reaches_only_the_serving_port(case: cases.Case) -> None:
    workload, test = policies(case)
    if not cases.values(case)["tests"]["enabled"]:
        assert not test
        return
    [policy] = test
    spec = policy["spec"]
    assert selects(spec["podSelector"], helm_test_pod_labels(case))
    assert spec["ingress"] == []
    dns, serving = spec["egress"]
    assert dns["ports"] == DNS
    assert serving["to"] == [{"podSelector": workload[0]["spec"]["podSelector"]}]
    assert [p["port"] for p in serving["ports"]] == [SERVE_PORT if case.chart == "kuberay-llm" else "http"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_ray_dashboard_is_not_exposed_by_any_service_or_route(case: cases.Case) -> None:
    rendered = cases.render(case)
    for service in rendered.of_kind("Service"):
        for port in service["spec"]["ports"]:
            assert port["port"] != DASHBOARD_PORT and port.get("targetPort") not in (DASHBOARD_PORT, "dashboard"), service
    services = {s["metadata"]["name"] for s in rendered.of_kind("Service")}
    for route in rendered.of_kind("Ingress") + rendered.of_kind("HTTPRoute"):
        text = str(route["spec"])
        assert str(DASHBOARD_PORT) not in text and "head-svc" not in text, route["metadata"]["name"]
        assert services, "routes must point at the chart's own Services"
