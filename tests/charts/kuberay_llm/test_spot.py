"""Spot / preemptible GPU pools: spot groups land on spot nodes and drain gracefully
(preStop pause + a grace period covering Serve's graceful shutdown), budgets keep
capacity without overlapping, and the head never runs on spot."""

from __future__ import annotations

from typing import Any

import pytest

from serve_app.config import AppConfig
from serve_app.llm_configs import to_llm_config

from .chart import PRESET_DIR, app_args, head, ray_container, render, render_error, worker_groups

PRESET = PRESET_DIR / "llama-3.1-8b-spot-pool.yaml"
SPOT_LABEL = ("karpenter.sh/capacity-type", "spot")
GROUPS = [
    {"groupName": "od", "gpus": 1, "minReplicas": 1, "maxReplicas": 1},
    {"groupName": "sp", "gpus": 1, "replicas": 2, "minReplicas": 2, "maxReplicas": 3, "spot": True},
]


def spot_pdb_selectors(rendered) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p["spec"] for p in rendered.of_kind("PodDisruptionBudget")}


def test_spot_group_selects_spot_nodes_and_on_demand_group_does_not() -> None:
    groups = worker_groups(render([PRESET]))
    spot = groups["l4-spot"]["template"]["spec"]["nodeSelector"]
    on_demand = groups["l4-on-demand"]["template"]["spec"]["nodeSelector"]
    assert spot == {"karpenter.sh/capacity-type": "spot", "nvidia.com/gpu.product": "NVIDIA-L4"}
    assert on_demand["karpenter.sh/capacity-type"] == "on-demand"


def test_head_is_kept_off_spot_nodes() -> None:
    spec = head(render([PRESET]))["template"]["spec"]
    key, value = SPOT_LABEL
    assert spec["nodeSelector"].get(key) != value
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms and all({"key": key, "operator": "NotIn", "values": [value]} in t["matchExpressions"] for t in terms)
    assert not any(t.get("key") == key for t in spec.get("tolerations", []))


def test_head_affinity_of_the_user_keeps_its_terms_and_gains_the_spot_exclusion() -> None:
    user_term = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [user_term, user_term]}}}
    spec = head(render(set_json={"workerGroups": GROUPS, "head": {"affinity": affinity}}))["template"]["spec"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert len(terms) == 2
    for term in terms:
        assert term["matchExpressions"][0]["key"] == "zone"
        assert term["matchExpressions"][1] == {"key": SPOT_LABEL[0], "operator": "NotIn", "values": [SPOT_LABEL[1]]}


def test_without_spot_groups_the_head_gets_no_affinity() -> None:
    assert "affinity" not in head(render())["template"]["spec"]


def test_spot_workers_drain_within_a_grace_period_covering_serve_shutdown() -> None:
    rendered = render([PRESET])
    app = AppConfig.model_validate(app_args(rendered))
    shutdown = max(to_llm_config(m)["deployment_config"]["graceful_shutdown_timeout_s"] for m in app.models)
    assert shutdown == 60
    spot = worker_groups(rendered)["l4-spot"]["template"]["spec"]
    assert ray_container(spot)["lifecycle"] == {"preStop": {"sleep": {"seconds": 15}}}
    assert spot["terminationGracePeriodSeconds"] == 15 + shutdown
    on_demand = worker_groups(rendered)["l4-on-demand"]["template"]["spec"]
    assert "lifecycle" not in ray_container(on_demand) and "terminationGracePeriodSeconds" not in on_demand


def test_spot_settings_reach_only_spot_groups() -> None:
    toleration = {"key": "spot", "operator": "Exists", "effect": "NoSchedule"}
    groups = worker_groups(render(set_json={"workerGroups": GROUPS, "spot": {"tolerations": [toleration], "priorityClassName": "spot-low"}}))
    spot, on_demand = groups["sp"]["template"]["spec"], groups["od"]["template"]["spec"]
    assert toleration in spot["tolerations"] and spot["priorityClassName"] == "spot-low"
    assert toleration not in on_demand.get("tolerations", []) and "priorityClassName" not in on_demand


def test_budgets_keep_capacity_and_never_select_the_same_pod() -> None:
    budgets = spot_pdb_selectors(render(set_json={"workerGroups": GROUPS}))
    workers, spot = budgets["test-kuberay-llm-workers"], budgets["test-kuberay-llm-sp"]
    assert workers["selector"]["matchExpressions"] == [{"key": "ray.io/group", "operator": "NotIn", "values": ["sp"]}]
    assert spot["selector"]["matchLabels"]["ray.io/group"] == "sp"
    assert spot["minAvailable"] == 2


def test_spot_group_without_minimum_gets_no_budget() -> None:
    groups = [GROUPS[0], {**GROUPS[1], "minReplicas": 0, "replicas": 0}]
    assert set(spot_pdb_selectors(render(set_json={"workerGroups": groups}))) == {"test-kuberay-llm-workers"}


@pytest.mark.parametrize(
    ("set_json", "expected"),
    [
        pytest.param({"workerGroups": [GROUPS[0], {**GROUPS[1], "terminationGracePeriodSeconds": 60}]},
                     "workerGroups[1].terminationGracePeriodSeconds: 60 is shorter than spot.preStopSleepSeconds + the largest models[].gracefulShutdownTimeoutS = 135", id="grace-period-too-short"),
        pytest.param({"workerGroups": GROUPS, "spot": {"nodeSelector": {"karpenter.sh/capacity-type": None}}}, "spot.nodeSelector: workerGroups[1].spot is true, but spot.nodeSelector is empty", id="spot-without-node-labels"),
        pytest.param({"workerGroups": GROUPS, "head": {"nodeSelector": {"karpenter.sh/capacity-type": "spot"}}}, "head.nodeSelector.karpenter.sh/capacity-type: selects spot nodes", id="head-on-spot"),
        pytest.param({"workerGroups": [{**GROUPS[1], "spot": "yes"}]}, "/workerGroups/0/spot", id="spot-not-a-boolean"),
        pytest.param({"spot": {"preStopSleepSeconds": -1}}, "/spot/preStopSleepSeconds", id="negative-prestop"),
    ],
)
def test_bad_spot_values_are_refused_naming_the_field(set_json: dict[str, Any], expected: str) -> None:
    assert expected in render_error(set_json=set_json)
