"""Bad values fail at `helm template` with the offending field named, and the values
schema is complete: every property described, every object closed, defaults equal to
values.yaml, every values.yaml key documented for helm-docs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.support import chart_checks, helm
from tests.support.chart_checks import bad_values_case as case

CHART = "vllm-standalone"
CHART_DIR = helm.CHARTS / CHART
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
VALUES_TEXT = (CHART_DIR / "values.yaml").read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
MODEL = {"name": "m", "model": "org/m"}
# Schema nodes allowed to accept any key: Kubernetes/Helm types checked downstream by
# the API server and by kubeconform on the rendered objects, or Helm's own `global`.
OPEN_OBJECTS = {
    "global",
    "valueFrom",
    "nodeAffinity",
    "podAffinity",
    "podAntiAffinity",
    "extraVolumes[]",
    "pods",
    "external",
    "object",
    "resource",
    "containerResource",
}


def with_model(**overrides: Any) -> dict[str, Any]:
    return {"models": [{**MODEL, **overrides}]}


BAD_VALUES = [
    # ---- schema: unknown keys, types, enums, ranges
    case("misspelled-top-level-key", {"imagee": {"variant": "gpu"}}, "imagee"),
    case("tracing-endpoint-not-a-url", {"tracing": {"enabled": True, "otlpEndpoint": "collector:4318"}}, "/tracing/otlpEndpoint"),
    case("tracing-without-endpoint", {"tracing": {"enabled": True}}, "tracing.otlpEndpoint"),
    case("misspelled-engine-key", {"defaults": {"engine": {"tensorParalelSize": 2}}}, "/defaults/engine", "tensorParalelSize"),
    case("misspelled-model-entry-key", with_model(replica=2), "/models/0", "replica"),
    case("tensor-parallel-as-string", with_model(engine={"tensorParallelSize": "two"}), "/models/0/engine/tensorParallelSize"),
    case("tensor-parallel-zero", {"defaults": {"engine": {"tensorParallelSize": 0}}}, "/defaults/engine/tensorParallelSize"),
    case("gpu-memory-utilization-above-one", {"defaults": {"engine": {"gpuMemoryUtilization": 1.5}}}, "/defaults/engine/gpuMemoryUtilization"),
    case("unknown-dtype", {"defaults": {"engine": {"dtype": "fp7"}}}, "/defaults/engine/dtype"),
    case("gpu-count-not-auto-or-integer", {"defaults": {"gpu": {"count": "many"}}}, "/defaults/gpu/count"),
    case("unknown-image-variant", {"image": {"variant": "tpu"}}, "/image/variant"),
    case("latest-image-tag", {"image": {"gpu": {"tag": "latest"}}}, "/image/gpu/tag"),
    case("model-name-not-a-dns-label", with_model(name="Llama_8B"), "/models/0/name"),
    case("model-without-model-id", {"models": [{"name": "m"}]}, "/models/0", "model"),
    case("no-models", {"models": []}, "/models"),
    case("unknown-storage-type", {"defaults": {"storage": {"type": "nfs"}}}, "/defaults/storage/type"),
    case("unknown-access-mode", {"defaults": {"storage": {"pvc": {"accessModes": ["ReadWriteSometimes"]}}}}, "/defaults/storage/pvc/accessModes"),
    case("unknown-strategy", {"defaults": {"strategy": {"type": "BlueGreen"}}}, "/defaults/strategy/type"),
    case("unknown-anti-affinity-preset", {"defaults": {"podAntiAffinityPreset": "always"}}, "/defaults/podAntiAffinityPreset"),
    case("startup-failure-threshold-zero", {"defaults": {"probes": {"startup": {"failureThreshold": 0}}}}, "/defaults/probes/startup/failureThreshold"),
    case("hpa-min-replicas-zero", {"defaults": {"autoscaling": {"hpa": {"minReplicas": 0}}}}, "/defaults/autoscaling/hpa/minReplicas"),
    case("service-port-out-of-range", {"service": {"port": 70000}}, "/service/port"),
    case("unknown-route-routing", {"httpRoute": {"routing": "cookie"}}, "/httpRoute/routing"),
    case("misspelled-networkpolicy-key", {"networkPolicy": {"egres": {}}}, "/networkPolicy", "egres"),
    case("replicas-negative", {"defaults": {"replicas": -1}}, "/defaults/replicas"),
    case("s3-uri-not-s3", {"defaults": {"download": {"s3": {"uri": "https://bucket/x"}}}}, "/defaults/download/s3/uri"),
    # ---- cross-field rules the templates enforce
    case("duplicate-model-names", {"models": [MODEL, {"name": "m", "model": "org/other"}]}, "models[1].name", "unique"),
    case("hpa-and-keda-both-enabled", {"defaults": {"autoscaling": {"hpa": {"enabled": True}, "keda": {"enabled": True}}}}, "autoscaling.hpa.enabled", "autoscaling.keda.enabled"),
    case("gpu-count-below-tp-times-pp", with_model(engine={"tensorParallelSize": 4, "pipelineParallelSize": 2}, gpu={"count": 4}), "models[0] (m)", "gpu.count 4", "= 8"),
    case("gpu-count-with-cpu-image", {"image": {"variant": "cpu"}, "defaults": {"gpu": {"count": 1}}}, "gpu.count", "image.variant=cpu"),
    case("gpu-listed-in-resources", {"defaults": {"resources": {"limits": {"nvidia.com/gpu": 1}}}}, "resources.limits", "gpu.count"),
    case("managed-flag-in-extra-args", {"defaults": {"engine": {"extraArgs": ["--tensor-parallel-size=2"]}}}, "engine.extraArgs", "--tensor-parallel-size"),
    case("managed-flag-spelled-with-underscores", {"defaults": {"engine": {"extraArgs": ["--max_model_len=4096"]}}}, "engine.extraArgs", "--max-model-len"),
    case("flag-and-value-in-one-extra-arg", {"defaults": {"engine": {"extraArgs": ["--max-model-len 4096"]}}}, "engine.extraArgs", "one string"),
    case("keda-scale-to-zero-without-a-trigger-that-exists-at-zero", {"defaults": {"autoscaling": {"keda": {"enabled": True, "minReplicaCount": 0}}}}, "autoscaling.keda.minReplicaCount", "extraTriggers"),
    case("scrape-timeout-above-interval", {"monitoring": {"podMonitor": {"interval": "15s", "scrapeTimeout": "1m"}}}, "monitoring.podMonitor.scrapeTimeout", "monitoring.podMonitor.interval"),
    case("api-key-flag-in-extra-args", {"defaults": {"engine": {"extraArgs": ["--api-key", "x"]}}}, "engine.extraArgs", "--api-key"),
    case("duplicate-lora-names", {"defaults": {"engine": {"lora": {"modules": [{"name": "a", "path": "/a"}, {"name": "a", "path": "/b"}]}}}}, "engine.lora.modules[1].name"),
    case("api-key-existing-secret-missing", {"apiKey": {"enabled": True}}, "apiKey.existingSecret"),
    case("api-key-value-missing", {"apiKey": {"enabled": True, "useExisting": False}}, "apiKey.value"),
    case("hf-token-existing-secret-missing", {"huggingface": {"token": {"enabled": True}}}, "huggingface.token.existingSecret"),
    case("s3-credentials-missing", {"defaults": {"download": {"enabled": True, "source": "s3", "s3": {"uri": "s3://b/m"}}}}, "s3.credentials.existingSecret"),
    case("s3-uri-missing", {"defaults": {"download": {"enabled": True, "source": "s3"}}}, "download.s3.uri"),
    case("hf-download-image-without-tag", {"huggingface": {"image": {"repository": "example/hf"}}}, "huggingface.image.tag"),
    case("existing-claim-missing", {"defaults": {"storage": {"pvc": {"create": False}}}}, "storage.pvc.existingClaim"),
    case("read-only-volume-that-starts-empty", {"defaults": {"storage": {"readOnly": True}}}, "storage.readOnly", "download.enabled"),
    case("grace-period-not-longer-than-prestop", {"defaults": {"preStopSleepSeconds": 60, "terminationGracePeriodSeconds": 30}}, "terminationGracePeriodSeconds", "preStopSleepSeconds"),
    case("rolling-update-that-cannot-progress", {"defaults": {"strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}}}, "strategy.rollingUpdate.maxSurge"),
    case("hpa-min-above-max", {"defaults": {"autoscaling": {"hpa": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}}, "autoscaling.hpa.minReplicas"),
    case("hpa-without-metrics", {"defaults": {"autoscaling": {"hpa": {"enabled": True, "numRequestsWaiting": {"enabled": False}}}}}, "autoscaling.hpa"),
    case("keda-min-above-max", {"defaults": {"autoscaling": {"keda": {"enabled": True, "minReplicaCount": 5, "maxReplicaCount": 2}}}}, "autoscaling.keda.minReplicaCount"),
    case("keda-query-not-aggregated", {"defaults": {"autoscaling": {"keda": {"enabled": True, "numRequestsWaiting": {"query": "vllm:num_requests_waiting"}}}}}, "autoscaling.keda.numRequestsWaiting.query", "sum"),
    case("pdb-min-and-max", {"defaults": {"pdb": {"minAvailable": 1, "maxUnavailable": 1}}}, "pdb.minAvailable", "pdb.maxUnavailable"),
    case("ingress-host-unknown-model", {"ingress": {"enabled": True, "hosts": [{"host": "a", "model": "nope", "paths": [{"path": "/", "pathType": "Prefix"}]}]}}, "ingress.hosts[0].model", "nope"),
    case("ingress-host-without-model-among-several", {"models": [MODEL, {"name": "n", "model": "org/n"}], "ingress": {"enabled": True}}, "ingress.hosts[0].model"),
    case("httproute-without-parent", {"httpRoute": {"enabled": True}}, "httpRoute.parentRefs"),
    case("httproute-unknown-default-model", {"httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}], "defaultModel": "nope"}}, "httpRoute.defaultModel"),
    case("servicemonitor-and-podmonitor", {"monitoring": {"serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}}}, "monitoring.serviceMonitor.enabled", "monitoring.podMonitor.enabled"),
    case("cpu-threads-bind-not-a-core-list", {"defaults": {"cpuThreadsBind": "all-cores"}}, "/defaults/cpuThreadsBind"),
    case("cpu-threads-bind-empty", {"defaults": {"cpuThreadsBind": ""}}, "/defaults/cpuThreadsBind"),
    case("cpu-threads-bind-not-a-string", {"defaults": {"cpuThreadsBind": 3}}, "/defaults/cpuThreadsBind"),
    case("model-cpu-threads-bind-open-range", with_model(cpuThreadsBind="0-"), "/models/0/cpuThreadsBind"),
    # ---- the startup contract
    case("startup-expected-negative", {"defaults": {"startup": {"expectedSeconds": -1}}}, "/defaults/startup/expectedSeconds"),
    case("startup-budget-below-the-start-time", {"defaults": {"startup": {"budgetFactor": 0.5}}}, "/defaults/startup/budgetFactor"),
    case("hpa-scales-down-sooner-than-a-replica-starts", {"defaults": {"startup": {"expectedSeconds": 900}, "autoscaling": {"hpa": {"enabled": True, "behavior": {"scaleDownStabilizationWindowSeconds": 300}}}}}, "autoscaling.hpa.behavior.scaleDownStabilizationWindowSeconds (300)", "startup.expectedSeconds (900)"),
    case("keda-scales-down-sooner-than-a-replica-starts", with_model(startup={"expectedSeconds": 900}, autoscaling={"keda": {"enabled": True, "behavior": {"scaleDownStabilizationWindowSeconds": 600}}}), "models[0] (m): autoscaling.keda.behavior.scaleDownStabilizationWindowSeconds (600)", "startup.expectedSeconds (900)"),
    case("keda-scales-to-zero-sooner-than-a-replica-starts", {"defaults": {"startup": {"expectedSeconds": 900}, "autoscaling": {"keda": {"enabled": True, "minReplicaCount": 0, "cooldownPeriod": 300, "behavior": {"scaleDownStabilizationWindowSeconds": 900}, "extraTriggers": [{"type": "cron", "metadata": {"timezone": "Etc/UTC", "start": "0 8 * * *", "end": "0 9 * * *", "desiredReplicas": "1"}}]}}}}, "autoscaling.keda.cooldownPeriod (300)", "startup.expectedSeconds (900)"),
    # ---- model locks
    case("lock-revision-floating", with_model(download={"enabled": True}, lock={"revision": "main", "files": [{"path": "a", "sha256": "0" * 64}]}), "/models/0/lock/revision"),
    case("lock-digest-not-hex", with_model(download={"enabled": True}, lock={"files": [{"path": "a", "sha256": "XYZ"}]}), "/models/0/lock/files/0/sha256"),
    case("lock-file-without-digest", with_model(download={"enabled": True}, lock={"files": [{"path": "a"}]}), "/models/0/lock/files/0", "sha256"),
    case("lock-without-files", with_model(download={"enabled": True}, lock={"files": []}), "/models/0/lock/files"),
    case("lock-file-listed-twice", with_model(download={"enabled": True}, lock={"files": [{"path": "a", "sha256": "0" * 64}, {"path": "a", "sha256": "1" * 64}]}), "models[0] (m): lock.files[1].path", "listed twice"),
    case("lock-path-leaving-the-model", with_model(download={"enabled": True}, lock={"files": [{"path": "../../etc/passwd", "sha256": "0" * 64}]}), "lock.files[0].path", "inside the model directory"),
    case("lock-on-a-model-vllm-downloads-itself", with_model(lock={"files": [{"path": "a", "sha256": "0" * 64}]}), "models[0] (m): lock", "download.enabled"),
    case("lock-and-download-revisions-differ", with_model(download={"enabled": True, "revision": "b" * 40}, lock={"revision": "a" * 40, "files": [{"path": "a", "sha256": "0" * 64}]}), "lock.revision", "download.revision"),
    case("locks-required-but-none", {"modelLocks": {"required": True}, **with_model(model="/models/m")}, "models[0] (m): lock is required"),
    case("locks-required-and-hub-revision-floats", {"modelLocks": {"required": True}, **with_model(download={"enabled": True}, lock={"files": [{"path": "a", "sha256": "0" * 64}]})}, "models[0] (m): lock.revision is required"),
    case("resource-name-too-long", {"fullnameOverride": "x" * 40, "models": [{"name": "y" * 30, "model": "org/m"}]}, "models[].name", "63 characters"),
]


@pytest.mark.parametrize(("values", "expected"), BAD_VALUES)
def test_bad_values_fail_naming_the_field(values: dict[str, Any], expected: tuple[str, ...]) -> None:
    chart_checks.assert_rejected(CHART, values, expected)


@pytest.mark.parametrize("release", ["team.llm", "1st"])
def test_a_release_name_that_cannot_name_a_service_fails_naming_fullname_override(release: str) -> None:
    """Helm accepts dotted release names and a leading digit; a Service name (DNS-1035) does not."""
    chart_checks.assert_rejected(CHART, {}, ("fullnameOverride", "DNS-1035", f"{release}-vllm-standalone"), release=release)


def test_a_fullname_override_rescues_such_a_release_name() -> None:
    helm.template(CHART, [], {"fullnameOverride": "team-llm"}, release="team.llm")


def test_negative_matrix_is_large() -> None:
    assert len(BAD_VALUES) >= 20


# ---------------------------------------------------------------- schema completeness

def test_every_schema_property_has_a_description() -> None:
    assert not chart_checks.undescribed_properties(SCHEMA)


def test_every_schema_object_rejects_unknown_keys() -> None:
    assert not chart_checks.open_objects(SCHEMA, allowed=OPEN_OBJECTS)


def test_schema_defaults_equal_values_yaml() -> None:
    assert not chart_checks.defaults_differing_from_values(SCHEMA, VALUES)


def test_values_yaml_is_valid_against_the_schema() -> None:
    chart_checks.assert_values_valid(VALUES, SCHEMA)


# ---------------------------------------------------------------- values.yaml documentation

def test_every_values_yaml_leaf_is_documented_for_helm_docs() -> None:
    assert not chart_checks.undocumented_leaves(VALUES, chart_checks.documented_paths(VALUES_TEXT))


def test_readme_template_renders_the_values_table() -> None:
    chart_checks.assert_readme_renders_values_table(CHART_DIR)
