"""Bad values fail `helm template` with a message that names the field: the schema
catches wrong keys, types and ranges; the templates catch contradictions between
fields. Each case starts from a value set that renders (checked below), so the
failure is the case's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.support import chart_checks, helm

from .chart import CHART, CPU_SCENARIO, NAMESPACE, RELEASE, render, render_error


class Bad(NamedTuple):
    id: str
    set_json: dict[str, Any]
    # Substrings the error must contain: the field's path (schema: /a/0/b, templates: a[0].b).
    expected: tuple[str, ...]
    base: tuple[Path, ...] = ()


def model(**fields: Any) -> list[dict[str, Any]]:
    return [{"id": "m", **fields}]


def group(**fields: Any) -> list[dict[str, Any]]:
    return [{"groupName": "gpu", "gpus": 1, "minReplicas": 1, "maxReplicas": 1, **fields}]


LOCK = {"files": [{"path": "config.json", "sha256": "0" * 64}]}
CPU = (CPU_SCENARIO,)
CPU_MODEL = {"kind": "CPU"}


def cpu_group(**fields: Any) -> list[dict[str, Any]]:
    return [{"groupName": "cpu", "gpus": 0, "minReplicas": 1, "maxReplicas": 1, **fields}]

SCHEMA_CASES = [
    Bad("unknown-top-level-key", {"modles": model()}, ("additional properties 'modles'",)),
    Bad("misspelled-engine-field", {"models": model(engine={"tensorParallel": 2})}, ("/models/0/engine", "'tensorParallel'")),
    Bad("renamed-model-key", {"models": [{"name": "m"}]}, ("/models/0", "missing property 'id'", "'name'")),
    Bad("model-id-pattern", {"models": [{"id": "-bad id"}]}, ("/models/0/id",)),
    Bad("no-models", {"models": []}, ("/models",)),
    Bad("routing-enum", {"models": model(routing="random")}, ("/models/0/routing", "power_of_two")),
    Bad("gpu-fraction-above-one", {"models": model(accelerator={"gpuFraction": 1.5})}, ("/models/0/accelerator/gpuFraction",)),
    Bad("tensor-parallel-zero", {"models": model(engine={"tensorParallelSize": 0})}, ("/models/0/engine/tensorParallelSize",)),
    Bad("model-env-not-string", {"models": model(env={"N": 1})}, ("/models/0/env/N",)),
    Bad("upgrade-type-enum", {"rayService": {"upgradeStrategy": {"type": "Recreate"}}}, ("/rayService/upgradeStrategy/type", "NewCluster")),
    Bad("image-variant-enum", {"image": {"variant": "tpu"}}, ("/image/variant",)),
    Bad("image-tag-latest", {"image": {"gpu": {"tag": "latest"}}}, ("/image/gpu/tag",)),
    Bad("negative-gpus", {"workerGroups": group(gpus=-1)}, ("/workerGroups/0/gpus",)),
    Bad("unknown-worker-group-key", {"workerGroups": group(gpuCount=1)}, ("/workerGroups/0", "'gpuCount'")),
    Bad("worker-group-without-name", {"workerGroups": [{"gpus": 1}]}, ("/workerGroups/0", "'groupName'")),
    Bad("no-worker-groups", {"workerGroups": []}, ("/workerGroups",)),
    Bad("pdb-percentage", {"podDisruptionBudget": {"minAvailable": "50%"}}, ("/podDisruptionBudget/minAvailable",)),
    Bad("shm-size-not-a-quantity", {"head": {"shmSize": "lots"}}, ("/head/shmSize",)),
    Bad("fullname-too-long", {"fullnameOverride": "x" * 48}, ("/fullnameOverride",)),
    Bad("tracing-endpoint-not-a-url", {"tracing": {"enabled": True, "otlpEndpoint": "collector:4318"}}, ("/tracing/otlpEndpoint",)),
    Bad("tracing-sample-ratio-above-one", {"tracing": {"sampleRatio": 2}}, ("/tracing/sampleRatio",)),
]

TEMPLATE_CASES = [
    Bad("tracing-without-endpoint", {"tracing": {"enabled": True}}, ("tracing.otlpEndpoint",)),
    Bad("engine-spans-without-tracing", {"tracing": {"engineSpans": True}}, ("tracing.engineSpans",)),
    Bad("duplicate-model-ids", {"models": [{"id": "m"}, {"id": "m"}], "workerGroups": group(maxReplicas=2)}, ("models[1].id", "models[0]")),
    Bad("gpu-fraction-on-cpu", {"models": model(accelerator={**CPU_MODEL, "gpuFraction": 0.5})}, ("models[0].accelerator.gpuFraction",), CPU),
    Bad("gpu-type-on-cpu", {"models": model(accelerator={**CPU_MODEL, "gpuType": "L4"})}, ("models[0].accelerator.gpuType",), CPU),
    Bad("cpu-model-on-gpu-image", {"models": model(accelerator=CPU_MODEL)}, ("models[0].accelerator.kind", "image.variant cpu")),
    Bad("gpu-model-on-cpu-image", {"models": model()}, ("models[0].accelerator.kind", "image.variant cpu"), CPU),
    Bad("gpus-on-cpu-image", {"workerGroups": group(gpus=1)}, ("workerGroups[0].gpus",), CPU),
    Bad(
        "cpu-replica-fits-no-worker",
        {"workerGroups": cpu_group(resources={"requests": {"cpu": "1"}})},
        ("models[0].accelerator.cpusPerWorker", "2 in all", "cpu: 1"),
        CPU,
    ),
    Bad(
        "cpu-replica-fits-no-worker-by-num-cpus",
        {"workerGroups": cpu_group(resources={"requests": {"cpu": "8"}}, rayStartParams={"num-cpus": "2"}), "models": [{"id": "m", "accelerator": {"kind": "CPU", "cpusPerWorker": 2}}]},
        ("models[0].accelerator.cpusPerWorker", "3 in all", "cpu: 2"),
        CPU,
    ),
    Bad("cpu-replica-on-a-millicpu-worker", {"workerGroups": cpu_group(resources={"limits": {"cpu": "800m"}})}, ("models[0].accelerator.cpusPerWorker", "cpu: 1"), CPU),
    Bad("replica-exceeds-group-gpus", {"models": model(engine={"tensorParallelSize": 2})}, ("models[0].engine", "tensorParallelSize 2")),
    Bad(
        "tensor-parallel-across-hosts",
        {"models": model(engine={"tensorParallelSize": 8}), "workerGroups": group(gpus=4, numOfHosts=2)},
        ("models[0].engine", "one host"),
    ),
    Bad("gpu-type-matches-no-group", {"models": model(accelerator={"gpuType": "H100"}), "workerGroups": group(gpuType="L4")}, ("models[0].accelerator.gpuType", "H100")),
    Bad("gpu-model-without-gpu-group", {"workerGroups": group(gpus=0)}, ("models[0].accelerator.kind", "gpus > 0")),
    Bad("gpu-capacity-short", {"models": model(autoscaling={"minReplicas": 1, "maxReplicas": 3})}, ("models[].autoscaling.maxReplicas", "workerGroups offer 2")),
    Bad("model-min-above-max", {"models": model(autoscaling={"minReplicas": 3, "maxReplicas": 2}), "workerGroups": group(maxReplicas=2)}, ("models[0].autoscaling.minReplicas",)),
    Bad("model-initial-out-of-range", {"models": model(autoscaling={"minReplicas": 1, "maxReplicas": 1, "initialReplicas": 2})}, ("models[0].autoscaling.initialReplicas",)),
    Bad("engine-extra-shadows-a-field", {"models": model(engine={"extra": {"max_model_len": 1024}})}, ("models[0].engine.extra.max_model_len", "engine.maxModelLen")),
    Bad("secret-in-model-env", {"models": model(env={"HF_TOKEN": "hf_x"})}, ("models[0].env.HF_TOKEN",)),
    Bad("local-source-without-cache", {"models": model(source="/models/weights")}, ("models[0].source", "modelCache.enabled")),
    Bad("downscale-sooner-than-a-replica-starts", {"models": model(expectedStartupS=900, autoscaling={"downscaleDelayS": 300})}, ("models[0].autoscaling.downscaleDelayS (300)", "models[0].expectedStartupS (900)")),
    Bad("downscale-default-sooner-than-a-replica-starts", {"models": model(expectedStartupS=900)}, ("models[0].autoscaling.downscaleDelayS (600)",)),
    Bad("lock-on-a-model-the-engine-downloads", {"models": model(lock=LOCK)}, ("models[0].lock", "absolute path")),
    Bad("lock-path-leaving-the-model", {"models": model(source="/opt/models/m", lock={"files": [{"path": "../x", "sha256": "0" * 64}]})}, ("models[0].lock.files[0].path", "inside the model directory")),
    Bad("lock-path-listed-twice", {"models": model(source="/opt/models/m", lock={"files": [*LOCK["files"], *LOCK["files"]]})}, ("models[0].lock.files[1].path", "listed twice")),
    Bad("lock-digest-not-hex", {"models": model(source="/opt/models/m", lock={"files": [{"path": "a", "sha256": "XYZ"}]})}, ("/models/0/lock/files/0/sha256",)),
    Bad("lock-revision-floating", {"models": model(source="/opt/models/m", lock={**LOCK, "revision": "main"})}, ("/models/0/lock/revision",)),
    Bad("duplicate-group-names", {"workerGroups": [*group(), *group()]}, ("workerGroups[1].groupName",)),
    Bad("group-min-above-max", {"workerGroups": group(minReplicas=2, maxReplicas=1)}, ("workerGroups[0].minReplicas",)),
    Bad("group-replicas-out-of-range", {"workerGroups": group(replicas=3, maxReplicas=2)}, ("workerGroups[0].replicas",)),
    Bad("gpu-in-group-resources", {"workerGroups": group(resources={"limits": {"nvidia.com/gpu": 1}})}, ("workerGroups[0].resources", "workerGroups[0].gpus")),
    Bad("managed-worker-ray-start-param", {"workerGroups": group(rayStartParams={"num-gpus": "2"})}, ("workerGroups[0].rayStartParams.num-gpus",)),
    Bad("pinned-port-in-head-params", {"head": {"rayStartParams": {"node-manager-port": "7000"}}}, ("head.rayStartParams.node-manager-port",)),
    Bad("head-num-cpus-in-params", {"head": {"rayStartParams": {"num-cpus": "4"}}}, ("head.rayStartParams.num-cpus", "head.numCpus")),
    Bad("gpu-on-head", {"head": {"resources": {"limits": {"nvidia.com/gpu": 1}}}}, ("head.resources", "CPU-only")),
    Bad("idle-timeout-without-autoscaler-v2", {"autoscaler": {"version": "v1"}, "workerGroups": group(idleTimeoutSeconds=60)}, ("workerGroups[0].idleTimeoutSeconds", "v2")),
    Bad(
        "incremental-upgrade-without-gateway",
        {"rayService": {"upgradeStrategy": {"type": "NewClusterWithIncrementalUpgrade"}}},
        ("rayService.upgradeStrategy.clusterUpgradeOptions.gatewayClassName",),
    ),
    Bad(
        "incremental-upgrade-without-autoscaler",
        {"autoscaler": {"enabled": False}, "rayService": {"upgradeStrategy": {"type": "NewClusterWithIncrementalUpgrade", "clusterUpgradeOptions": {"gatewayClassName": "istio"}}}},
        ("autoscaler.enabled", "NewClusterWithIncrementalUpgrade"),
    ),
    Bad("auth-without-a-key", {"auth": {"enabled": True}}, ("auth.existingSecret",)),
    Bad("auth-with-two-keys", {"auth": {"enabled": True, "existingSecret": "s", "apiKey": "k"}}, ("auth.apiKey", "not both")),
    Bad("hf-token-from-two-places", {"huggingface": {"token": {"existingSecret": "s", "value": "hf_x"}}}, ("huggingface.token.value", "not both")),
    Bad("ingress-without-hosts", {"ingress": {"enabled": True}}, ("ingress.hosts",)),
    Bad("httproute-without-gateway", {"httpRoute": {"enabled": True}}, ("httpRoute.parentRefs",)),
    Bad("rayservice-name-too-long", {"nameOverride": "n" * 43}, ("fullnameOverride", "47")),
    Bad("scrape-timeout-above-interval", {"podMonitor": {"interval": "30s", "scrapeTimeout": "1m"}}, ("podMonitor.scrapeTimeout", "podMonitor.interval")),
    Bad("name-override-not-a-dns-label", {"nameOverride": "LLM"}, ("/nameOverride",)),
]

CASES = SCHEMA_CASES + TEMPLATE_CASES


def test_the_matrix_is_broad() -> None:
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("base", sorted({c.base for c in CASES}), ids=lambda b: "+".join(p.name for p in b) or "defaults")
def test_every_base_of_the_matrix_renders(base: tuple[Path, ...]) -> None:
    render(base)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_values_fail_naming_the_field(case: Bad) -> None:
    chart_checks.assert_rejected(CHART, case.set_json, case.expected, case.base, release=RELEASE, namespace=NAMESPACE)


def test_a_release_name_that_cannot_name_a_rayservice_fails_naming_fullname_override() -> None:
    """Helm accepts a release name starting with a digit; a RayService name must start with a letter (DNS-1035)."""
    error = helm.template_error(CHART, release="1llm", namespace=NAMESPACE)
    assert "fullnameOverride" in error and "DNS-1035" in error, error


@pytest.mark.parametrize(
    "workers",
    [
        cpu_group(resources={"requests": {"cpu": "2"}}),
        cpu_group(resources={"requests": {"cpu": "1"}}, rayStartParams={"num-cpus": "2"}),
        cpu_group(resources={"requests": {"cpu": "1"}, "limits": {"cpu": "1200m"}}),
        cpu_group(resources={"requests": {"memory": "4Gi"}}),
    ],
    ids=["request-2", "num-cpus-over-a-smaller-request", "limit-rounded-up", "no-cpu-set"],
)
def test_a_cpu_replica_renders_on_a_worker_with_two_ray_cpus_or_an_unknown_count(workers: list[dict[str, Any]]) -> None:
    """KubeRay gives a worker num-cpus, else its CPU limit, else its request, rounded up; with none, Ray counts the node's."""
    render(CPU, set_json={"workerGroups": workers})


def test_cross_field_errors_are_reported_together() -> None:
    error = render_error(set_json={"ingress": {"enabled": True}, "httpRoute": {"enabled": True}})
    assert "ingress.hosts" in error and "httpRoute.parentRefs" in error
