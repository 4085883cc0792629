"""What vllm-standalone renders, one behaviour per test, read as its specification."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from typing import Any

import pytest

from tests.support import helm
from tests.support.tools import tool

CHART = "vllm-standalone"
RELEASE = "test"  # tests.support.helm renders as release "test"
NAMESPACE = "llm"  # ... in namespace "llm"
FULLNAME = f"{RELEASE}-vllm-standalone"
DEFAULT_MODEL = "qwen2-5-0-5b-instruct"
DEFAULT_MODEL_ID = "Qwen/Qwen2.5-0.5B-Instruct"
GPU_IMAGE = "vllm/vllm-openai:v0.29.0"
CPU_IMAGE = "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.29.0"
GPU = "nvidia.com/gpu"
HTTP_PORT = 8000
THIRTY_MINUTES = 30 * 60
API_KEY = "sk-test-4f1c2a9e"
HF_TOKEN = "hf_test_9b7d3e51"
S3_SECRET = "s3-secret-6e2f0c84"
ENGINE_SELECTOR = {
    "app.kubernetes.io/name": "vllm-standalone",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "engine",
}
RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
TWO_MODELS = [
    {"name": "alpha", "model": "org/alpha"},
    {"name": "beta", "model": "org/beta"},
]


# ---------------------------------------------------------------- helpers

def render(**set_json: Any) -> helm.Rendered:
    return helm.template(CHART, set_json=set_json)


def deployment(rendered: helm.Rendered, model: str = DEFAULT_MODEL) -> dict:
    return rendered.one("Deployment", f"{FULLNAME}-{model}")


def pod_spec(rendered: helm.Rendered, model: str = DEFAULT_MODEL) -> dict:
    return deployment(rendered, model)["spec"]["template"]["spec"]


def engine(rendered: helm.Rendered, model: str = DEFAULT_MODEL) -> dict:
    return next(c for c in pod_spec(rendered, model)["containers"] if c["name"] == "vllm")


def init_container(rendered: helm.Rendered, model: str = DEFAULT_MODEL) -> dict:
    return next(c for c in pod_spec(rendered, model)["initContainers"] if c["name"] == "model-download")


def env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def volume_for(spec: dict, container: dict, path: str) -> tuple[dict, dict]:
    """The (volumeMount, volume) that holds `path` in the container (longest mount prefix)."""
    mounts = [m for m in container["volumeMounts"] if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")]
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    return mount, volume


def flag_value(args: list[str], flag: str) -> str:
    return next(a.split("=", 1)[1] for a in args if a.startswith(flag + "="))


def helm_test_pod(rendered: helm.Rendered) -> dict:
    return rendered.one("Pod", f"{FULLNAME}-test-connection")


# ---------------------------------------------------------------- labels and models

def test_engine_pods_carry_the_labels_the_observability_chart_selects() -> None:
    labels = deployment(render())["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "vllm-standalone"
    assert labels["app.kubernetes.io/component"] == "engine"
    assert labels["llmstack.io/model"] == DEFAULT_MODEL


def test_resources_carry_the_standard_labels_and_common_labels() -> None:
    rendered = render(commonLabels={"team": "ml"})
    for doc in rendered.docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm", doc["kind"]
        assert labels["app.kubernetes.io/version"] == "v0.29.0", doc["kind"]
        assert labels["helm.sh/chart"] == "vllm-standalone-0.2.0", doc["kind"]
        assert labels["team"] == "ml", doc["kind"]


def test_selectors_never_include_user_labels() -> None:
    rendered = render(commonLabels={"team": "ml"}, defaults={"podLabels": {"cost": "x"}})
    selector = deployment(rendered)["spec"]["selector"]["matchLabels"]
    assert selector == {**ENGINE_SELECTOR, "llmstack.io/model": DEFAULT_MODEL}
    assert rendered.one("Service")["spec"]["selector"] == selector
    assert deployment(rendered)["spec"]["template"]["metadata"]["labels"]["cost"] == "x"


def test_one_deployment_and_service_per_model() -> None:
    rendered = render(models=TWO_MODELS)
    assert sorted(d["metadata"]["name"] for d in rendered.of_kind("Deployment")) == [f"{FULLNAME}-alpha", f"{FULLNAME}-beta"]
    assert sorted(d["metadata"]["name"] for d in rendered.of_kind("Service")) == [f"{FULLNAME}-alpha", f"{FULLNAME}-beta"]
    assert rendered.one("Service", f"{FULLNAME}-beta")["spec"]["selector"]["llmstack.io/model"] == "beta"


def test_per_model_override_wins_and_keeps_sibling_defaults() -> None:
    rendered = render(
        defaults={"engine": {"maxModelLen": 4096, "maxNumSeqs": 32}},
        models=[TWO_MODELS[0], {**TWO_MODELS[1], "engine": {"maxModelLen": 16384}}],
    )
    alpha, beta = engine(rendered, "alpha")["args"], engine(rendered, "beta")["args"]
    assert flag_value(alpha, "--max-model-len") == "4096"
    assert flag_value(beta, "--max-model-len") == "16384"
    assert flag_value(beta, "--max-num-seqs") == "32"


def test_per_model_false_overrides_a_true_default() -> None:
    rendered = render(models=[{**TWO_MODELS[0], "engine": {"enablePrefixCaching": False}}, TWO_MODELS[1]])
    assert "--no-enable-prefix-caching" in engine(rendered, "alpha")["args"]
    assert "--enable-prefix-caching" in engine(rendered, "beta")["args"]


def test_per_model_list_replaces_the_default_list() -> None:
    toleration = {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}
    rendered = render(
        defaults={"tolerations": [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}]},
        models=[{**TWO_MODELS[0], "tolerations": [toleration]}],
    )
    assert pod_spec(rendered, "alpha")["tolerations"] == [toleration]


# ---------------------------------------------------------------- image and engine arguments

def test_gpu_image_pinned_by_tag_by_default() -> None:
    assert engine(render())["image"] == GPU_IMAGE


def test_image_digest_is_appended_to_the_tag() -> None:
    digest = "sha256:" + "a" * 64
    assert engine(render(image={"gpu": {"digest": digest}}))["image"] == f"{GPU_IMAGE}@{digest}"


def test_engine_runs_vllm_serve_on_port_8000_named_http() -> None:
    container = engine(render())
    assert container["command"] == ["vllm", "serve"]
    assert container["args"][0] == DEFAULT_MODEL_ID
    assert {"--host=0.0.0.0", f"--port={HTTP_PORT}"} <= set(container["args"])
    assert container["ports"] == [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}]


def test_structured_engine_values_become_cli_flags() -> None:
    args = engine(render(defaults={"engine": {
        "tensorParallelSize": 2, "pipelineParallelSize": 2, "maxModelLen": 1000000,
        "gpuMemoryUtilization": 0.85, "maxNumSeqs": 64, "maxNumBatchedTokens": 8192,
        "dtype": "bfloat16", "quantization": "fp8", "trustRemoteCode": True, "enforceEager": True,
    }}))["args"]
    for flag in (
        "--tensor-parallel-size=2", "--pipeline-parallel-size=2", "--max-model-len=1000000",
        "--gpu-memory-utilization=0.85", "--max-num-seqs=64", "--max-num-batched-tokens=8192",
        "--dtype=bfloat16", "--quantization=fp8", "--trust-remote-code", "--enforce-eager",
    ):
        assert flag in args


def test_unset_engine_limits_are_left_to_vllm() -> None:
    args = engine(render())["args"]
    assert not [a for a in args if a.split("=")[0] in {"--max-model-len", "--max-num-seqs", "--max-num-batched-tokens", "--quantization"}]


def test_served_model_names_default_to_the_model_id() -> None:
    args = engine(render())["args"]
    assert args[args.index("--served-model-name") + 1] == DEFAULT_MODEL_ID


def test_several_served_model_names_follow_one_flag() -> None:
    args = engine(render(defaults={"engine": {"servedModelName": ["qwen", "qwen-small"]}}))["args"]
    i = args.index("--served-model-name")
    assert args[i + 1 : i + 3] == ["qwen", "qwen-small"]


def test_lora_modules_enable_lora() -> None:
    args = engine(render(defaults={"engine": {"lora": {"modules": [{"name": "sql", "path": "/adapters/sql"}], "maxLoraRank": 64}}}))["args"]
    assert "--enable-lora" in args
    assert args[args.index("--lora-modules") + 1] == "sql=/adapters/sql"
    assert "--max-lora-rank=64" in args


def test_extra_args_are_appended_verbatim() -> None:
    args = engine(render(defaults={"engine": {"extraArgs": ["--kv-cache-dtype=fp8", "--seed", "7"]}}))["args"]
    assert args[-3:] == ["--kv-cache-dtype=fp8", "--seed", "7"]


def test_service_links_are_disabled_so_vllm_port_is_not_clobbered() -> None:
    assert pod_spec(render())["enableServiceLinks"] is False


# ---------------------------------------------------------------- GPU scheduling

def test_gpu_count_is_tensor_times_pipeline_parallel_size() -> None:
    container = engine(render(defaults={"engine": {"tensorParallelSize": 4, "pipelineParallelSize": 2}}))
    assert container["resources"]["limits"][GPU] == 8


def test_gpu_count_override_wins() -> None:
    assert engine(render(defaults={"gpu": {"count": 2}}))["resources"]["limits"][GPU] == 2


def test_gpu_resource_name_is_configurable() -> None:
    limits = engine(render(defaults={"gpu": {"resourceName": "amd.com/gpu"}}))["resources"]["limits"]
    assert limits["amd.com/gpu"] == 1 and GPU not in limits


def test_cpu_variant_uses_the_cpu_image_and_requests_no_gpu() -> None:
    rendered = render(image={"variant": "cpu"}, defaults={"cpuKVCacheSpaceGiB": 2})
    container = engine(rendered)
    assert container["image"] == CPU_IMAGE
    assert GPU not in container["resources"].get("limits", {})
    assert not any(a.startswith("--gpu-memory-utilization") for a in container["args"])
    assert env(container)["VLLM_CPU_KVCACHE_SPACE"]["value"] == "2"


def test_cpu_engines_leave_thread_placement_to_the_kernel_by_default() -> None:
    """vLLM's `auto` would pin every replica on a node to the same cores."""
    assert env(engine(render(image={"variant": "cpu"})))["VLLM_CPU_OMP_THREADS_BIND"]["value"] == "nobind"
    pinned = engine(render(image={"variant": "cpu"}, defaults={"cpuThreadsBind": "0-3"}))
    assert env(pinned)["VLLM_CPU_OMP_THREADS_BIND"]["value"] == "0-3"


@pytest.mark.parametrize("bind", ["auto", "0-3", "0,2,4", "0-1|2-3"])
def test_cpu_thread_binding_takes_vllms_own_forms(bind: str) -> None:
    assert env(engine(render(image={"variant": "cpu"}, defaults={"cpuThreadsBind": bind})))["VLLM_CPU_OMP_THREADS_BIND"]["value"] == bind


def test_a_null_cpu_thread_binding_leaves_vllms_default() -> None:
    assert "VLLM_CPU_OMP_THREADS_BIND" not in env(engine(render(image={"variant": "cpu"}, defaults={"cpuThreadsBind": None})))


def test_gpu_engines_get_no_cpu_thread_binding() -> None:
    assert "VLLM_CPU_OMP_THREADS_BIND" not in env(engine(render()))


def test_scheduling_fields_reach_the_pod() -> None:
    spec = pod_spec(render(defaults={
        "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L4"},
        "tolerations": [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}],
        "runtimeClassName": "nvidia",
        "priorityClassName": "inference",
    }))
    assert spec["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert spec["tolerations"][0]["key"] == GPU
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["priorityClassName"] == "inference"


@pytest.mark.parametrize(
    ("preset", "field"),
    [("soft", "preferredDuringSchedulingIgnoredDuringExecution"), ("hard", "requiredDuringSchedulingIgnoredDuringExecution")],
)
def test_anti_affinity_preset_spreads_replicas_of_one_model(preset: str, field: str) -> None:
    anti = pod_spec(render(defaults={"podAntiAffinityPreset": preset}))["affinity"]["podAntiAffinity"]
    term = anti[field][0]
    term = term.get("podAffinityTerm", term)
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"]["llmstack.io/model"] == DEFAULT_MODEL


def test_anti_affinity_preset_keeps_user_node_affinity() -> None:
    node_affinity = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}]}}
    affinity = pod_spec(render(defaults={"affinity": {"nodeAffinity": node_affinity}, "podAntiAffinityPreset": "soft"}))["affinity"]
    assert affinity["nodeAffinity"] == node_affinity
    assert "podAntiAffinity" in affinity


def test_replicas_spread_over_nodes_by_default() -> None:
    anti = pod_spec(render())["affinity"]["podAntiAffinity"]
    assert anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


def test_a_pod_anti_affinity_of_the_users_own_replaces_the_preset() -> None:
    own = {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "topology.kubernetes.io/zone", "labelSelector": {"matchLabels": {"team": "a"}}}]}
    affinity = pod_spec(render(defaults={"affinity": {"podAntiAffinity": own}, "podAntiAffinityPreset": "hard"}))["affinity"]
    assert affinity["podAntiAffinity"] == own


def test_topology_spread_constraint_gets_the_model_selector() -> None:
    constraint = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
    rendered = pod_spec(render(defaults={"topologySpreadConstraints": [constraint]}))["topologySpreadConstraints"][0]
    assert rendered["labelSelector"]["matchLabels"] == {**ENGINE_SELECTOR, "llmstack.io/model": DEFAULT_MODEL}


# ---------------------------------------------------------------- storage and download

def test_pvc_created_per_model_by_default() -> None:
    rendered = render()
    pvc = rendered.one("PersistentVolumeClaim", f"{FULLNAME}-{DEFAULT_MODEL}-models")
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert "storageClassName" not in pvc["spec"]
    assert pvc["metadata"].get("annotations") is None
    claim = next(v for v in pod_spec(rendered)["volumes"] if v["name"] == "model")["persistentVolumeClaim"]["claimName"]
    assert claim == pvc["metadata"]["name"]


def test_pvc_keep_policy_and_storage_class() -> None:
    pvc = render(defaults={"storage": {"pvc": {"keep": True, "storageClass": "fast", "accessModes": ["ReadWriteMany"]}}}).one("PersistentVolumeClaim")
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert pvc["spec"]["storageClassName"] == "fast"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_storage_class_dash_disables_dynamic_provisioning() -> None:
    pvc = render(defaults={"storage": {"pvc": {"storageClass": "-"}}}).one("PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == ""


def test_existing_claim_is_mounted_and_none_created() -> None:
    rendered = render(defaults={"storage": {"pvc": {"create": False, "existingClaim": "weights"}}})
    assert not rendered.of_kind("PersistentVolumeClaim")
    assert next(v for v in pod_spec(rendered)["volumes"] if v["name"] == "model")["persistentVolumeClaim"] == {"claimName": "weights"}


@pytest.mark.parametrize(
    ("storage", "source"),
    [
        ({"type": "emptyDir", "emptyDir": {"sizeLimit": "10Gi"}}, {"emptyDir": {"sizeLimit": "10Gi"}}),
        ({"type": "hostPath", "hostPath": {"path": "/data/models", "type": "Directory"}}, {"hostPath": {"path": "/data/models", "type": "Directory"}}),
    ],
    ids=["emptyDir", "hostPath"],
)
def test_model_volume_can_be_emptydir_or_hostpath(storage: dict, source: dict) -> None:
    rendered = render(defaults={"storage": storage})
    assert not rendered.of_kind("PersistentVolumeClaim")
    volume = next(v for v in pod_spec(rendered)["volumes"] if v["name"] == "model")
    assert volume == {"name": "model", **source}


def test_writable_model_volume_holds_the_hf_cache() -> None:
    rendered = render()
    hf_home = env(engine(rendered))["HF_HOME"]["value"]
    mount, volume = volume_for(pod_spec(rendered), engine(rendered), hf_home)
    assert volume["name"] == "model" and mount["readOnly"] is False


def test_read_only_model_volume_keeps_a_writable_hf_cache() -> None:
    rendered = render(defaults={"storage": {"readOnly": True}, "download": {"enabled": True}})
    spec, container = pod_spec(rendered), engine(rendered)
    model_mount = next(m for m in container["volumeMounts"] if m["name"] == "model")
    assert model_mount["readOnly"] is True
    hf_home = env(container)["HF_HOME"]["value"]
    mount, volume = volume_for(spec, container, hf_home)
    assert "emptyDir" in volume and not mount.get("readOnly", False)
    assert not hf_home.startswith(model_mount["mountPath"])


def test_hf_download_init_container_fills_the_model_dir_the_engine_serves() -> None:
    rendered = render(defaults={
        "storage": {"readOnly": True},
        "download": {"enabled": True, "revision": "v1", "include": ["*.safetensors", "*.json"]},
    })
    init = init_container(rendered)
    assert init["image"] == GPU_IMAGE, "the engine image ships the hf CLI"
    assert init["command"] == ["hf", "download"]
    assert init["args"] == [DEFAULT_MODEL_ID, "--local-dir", f"/models/{DEFAULT_MODEL}", "--revision", "v1", "--include", "*.safetensors", "*.json"]
    assert not next(m for m in init["volumeMounts"] if m["name"] == "model").get("readOnly", False)
    assert engine(rendered)["args"][0] == f"/models/{DEFAULT_MODEL}"


def test_hf_token_reaches_download_and_engine_from_an_existing_secret() -> None:
    rendered = render(huggingface={"token": {"enabled": True, "existingSecret": "hf"}}, defaults={"download": {"enabled": True}})
    for container in (init_container(rendered), engine(rendered)):
        assert env(container)["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf", "key": "token"}
    assert not rendered.of_kind("Secret")


def test_hf_token_value_appears_only_in_its_secret() -> None:
    rendered = render(huggingface={"token": {"enabled": True, "useExisting": False, "value": HF_TOKEN}})
    secret = rendered.one("Secret", f"{FULLNAME}-hf-token")
    assert base64.b64decode(secret["data"]["token"]).decode() == HF_TOKEN
    others = [d for d in rendered.docs if d is not secret]
    assert HF_TOKEN not in json.dumps(rendered.docs)
    assert secret["data"]["token"] not in json.dumps(others)


def test_s3_download_uses_aws_cli_with_keys_from_a_secret() -> None:
    rendered = render(
        defaults={"download": {"enabled": True, "source": "s3", "s3": {"uri": "s3://bucket/qwen/"}}},
        s3={"endpointUrl": "http://minio:9000", "credentials": {"useExisting": False, "accessKeyId": "AKIA1", "secretAccessKey": S3_SECRET}},
    )
    init = init_container(rendered)
    assert init["image"].startswith("amazon/aws-cli:") and not init["image"].endswith(":latest")
    assert init["command"] == ["aws", "s3", "sync"]
    assert init["args"][:2] == ["s3://bucket/qwen/", f"/models/{DEFAULT_MODEL}"]
    assert init["args"][-2:] == ["--endpoint-url", "http://minio:9000"]
    keys = env(init)
    assert keys["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {"name": f"{FULLNAME}-s3", "key": "AWS_SECRET_ACCESS_KEY"}
    assert S3_SECRET not in json.dumps(rendered.docs)


def test_offline_mode_sets_hf_hub_offline_on_the_engine() -> None:
    rendered = render(defaults={"offline": True, "download": {"enabled": True}})
    assert env(engine(rendered))["HF_HUB_OFFLINE"]["value"] == "1"
    assert "HF_HUB_OFFLINE" not in env(init_container(rendered)), "the download still needs the hub"


def test_online_by_default() -> None:
    assert "HF_HUB_OFFLINE" not in env(engine(render()))


# ---------------------------------------------------------------- resources, shm, filesystem

def test_dev_shm_is_a_sized_memory_emptydir() -> None:
    rendered = render(defaults={"shm": {"sizeLimit": "4Gi"}})
    mount, volume = volume_for(pod_spec(rendered), engine(rendered), "/dev/shm")
    assert mount["mountPath"] == "/dev/shm"
    assert volume["emptyDir"] == {"medium": "Memory", "sizeLimit": "4Gi"}


def test_resources_requests_and_limits_are_passed_through_next_to_the_gpu() -> None:
    resources = engine(render(defaults={"resources": {"requests": {"cpu": "8", "memory": "64Gi"}, "limits": {"memory": "96Gi"}}}))["resources"]
    local = {"ephemeral-storage": "23552Mi"}  # the pod-local volumes' limits (see the node-local storage tests)
    assert resources == {"requests": {"cpu": "8", "memory": "64Gi", **local}, "limits": {"memory": "96Gi", GPU: 1, **local}}


def test_read_only_root_filesystem_has_writable_tmp_and_home() -> None:
    rendered = render()
    spec, container = pod_spec(rendered), engine(rendered)
    home = env(container)["HOME"]["value"]
    for path in ("/tmp", home, env(container)["XDG_CACHE_HOME"]["value"]):
        mount, volume = volume_for(spec, container, path)
        assert "emptyDir" in volume and not mount.get("readOnly", False), path


# ---------------------------------------------------------------- security

def test_every_container_runs_with_the_restricted_profile() -> None:
    rendered = render(defaults={"download": {"enabled": True}})
    pods = [pod_spec(rendered), helm_test_pod(rendered)["spec"]]
    for spec in pods:
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container["securityContext"]
            assert {k: context[k] for k in RESTRICTED_CONTAINER} == RESTRICTED_CONTAINER, container["name"]


def test_service_account_token_is_not_mounted() -> None:
    rendered = render()
    assert rendered.one("ServiceAccount", FULLNAME)["automountServiceAccountToken"] is False
    assert pod_spec(rendered)["serviceAccountName"] == FULLNAME
    assert pod_spec(rendered)["automountServiceAccountToken"] is False


def test_api_key_reaches_the_engine_through_a_secret_key_ref() -> None:
    rendered = render(apiKey={"enabled": True, "existingSecret": "llm-key"})
    ref = env(engine(rendered))["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "llm-key", "key": "api-key"}
    assert not any(a.startswith("--api-key") for a in engine(rendered)["args"])
    assert not rendered.of_kind("Secret")


def test_api_key_value_is_never_inlined_outside_its_secret() -> None:
    rendered = render(apiKey={"enabled": True, "useExisting": False, "value": API_KEY})
    secret = rendered.one("Secret", f"{FULLNAME}-api-key")
    assert base64.b64decode(secret["data"]["api-key"]).decode() == API_KEY
    assert API_KEY not in json.dumps(rendered.docs)
    encoded = secret["data"]["api-key"]
    assert encoded not in json.dumps([d for d in rendered.docs if d is not secret])
    assert env(engine(rendered))["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]


def test_no_api_key_by_default() -> None:
    rendered = render()
    assert "VLLM_API_KEY" not in env(engine(rendered))
    assert not rendered.of_kind("Secret")


# ---------------------------------------------------------------- probes, shutdown, rollout

def test_startup_budget_defaults_to_at_least_30_minutes() -> None:
    probe = engine(render())["startupProbe"]
    assert probe["httpGet"] == {"path": "/health", "port": "http"}
    assert probe["failureThreshold"] * probe["periodSeconds"] >= THIRTY_MINUTES


def test_startup_budget_is_configurable() -> None:
    probe = engine(render(defaults={"probes": {"startup": {"failureThreshold": 360, "periodSeconds": 20}}}))["startupProbe"]
    assert probe["failureThreshold"] * probe["periodSeconds"] == 7200


def test_a_declared_start_time_sets_the_startup_budget_to_its_multiple() -> None:
    probe = engine(render(defaults={"startup": {"expectedSeconds": 600}, "probes": {"startup": {"failureThreshold": 7, "periodSeconds": 10}}}))["startupProbe"]
    assert probe["failureThreshold"] == 120  # 2 x 600 s in checks of 10 s; the declared time wins over failureThreshold
    probe = engine(render(defaults={"startup": {"expectedSeconds": 601, "budgetFactor": 1.5}}))["startupProbe"]
    assert probe["failureThreshold"] == 91  # 901.5 s rounded up to whole checks


def test_a_keda_cooldown_shorter_than_the_start_time_is_fine_while_the_model_never_scales_to_zero() -> None:
    keda = {"enabled": True, "minReplicaCount": 1, "cooldownPeriod": 60, "behavior": {"scaleDownStabilizationWindowSeconds": 900}}
    assert render(defaults={"startup": {"expectedSeconds": 900}, "autoscaling": {"keda": keda}}).of_kind("ScaledObject")


def test_readiness_and_liveness_check_health_and_liveness_is_lenient() -> None:
    container = engine(render())
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert readiness["httpGet"]["path"] == liveness["httpGet"]["path"] == "/health"
    assert liveness["failureThreshold"] * liveness["periodSeconds"] > readiness["failureThreshold"] * readiness["periodSeconds"]
    assert liveness["timeoutSeconds"] >= readiness["timeoutSeconds"]


def test_probes_can_be_disabled() -> None:
    container = engine(render(defaults={"probes": {"liveness": {"enabled": False}}}))
    assert "livenessProbe" not in container and "startupProbe" in container


def test_prestop_sleep_drains_within_the_grace_period() -> None:
    rendered = render(defaults={"preStopSleepSeconds": 20, "terminationGracePeriodSeconds": 90})
    assert engine(rendered)["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "20"]
    assert pod_spec(rendered)["terminationGracePeriodSeconds"] == 90


def test_rolling_update_surges_no_extra_gpu_pod_by_default() -> None:
    strategy = deployment(render())["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def test_recreate_strategy_has_no_rolling_update_block() -> None:
    assert deployment(render(defaults={"strategy": {"type": "Recreate"}}))["spec"]["strategy"] == {"type": "Recreate"}


# ---------------------------------------------------------------- traffic

def test_service_is_cluster_ip_on_port_8000_named_http() -> None:
    service = render().one("Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["sessionAffinity"] == "None"


def test_service_session_affinity_is_optional() -> None:
    spec = render(service={"sessionAffinity": "ClientIP", "sessionAffinityTimeoutSeconds": 600}).one("Service")["spec"]
    assert spec["sessionAffinity"] == "ClientIP"
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 600}}


def test_ingress_is_streaming_safe_for_nginx() -> None:
    annotations = render(ingress={"enabled": True}).one("Ingress")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600


def test_ingress_limits_the_request_body_vllm_does_not() -> None:
    """vLLM's server reads a body of any size; the Ingress refuses one over maxBodySize with 413."""
    annotations = render(ingress={"enabled": True}).one("Ingress")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "8m"
    annotations = render(ingress={"enabled": True, "maxBodySize": ""}).one("Ingress")["metadata"].get("annotations", {})
    assert "nginx.ingress.kubernetes.io/proxy-body-size" not in annotations


def test_ingress_body_size_must_be_an_nginx_size() -> None:
    error = helm.template_error(CHART, set_json={"ingress": {"enabled": True, "maxBodySize": "8 MB"}})
    assert "/ingress/maxBodySize" in error


def test_ingress_user_annotations_win_over_streaming_defaults() -> None:
    annotations = render(ingress={"enabled": True, "annotations": {"nginx.ingress.kubernetes.io/proxy-read-timeout": "60"}}).one("Ingress")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "60"


def test_ingress_routes_each_host_to_its_model() -> None:
    hosts = [
        {"host": "a.example.com", "model": "alpha", "paths": [{"path": "/", "pathType": "Prefix"}]},
        {"host": "b.example.com", "model": "beta", "paths": [{"path": "/", "pathType": "Prefix"}]},
    ]
    ingress = render(models=TWO_MODELS, ingress={"enabled": True, "hosts": hosts}).one("Ingress")
    backends = {r["host"]: r["http"]["paths"][0]["backend"]["service"] for r in ingress["spec"]["rules"]}
    assert backends == {
        "a.example.com": {"name": f"{FULLNAME}-alpha", "port": {"name": "http"}},
        "b.example.com": {"name": f"{FULLNAME}-beta", "port": {"name": "http"}},
    }
    assert ingress["spec"]["ingressClassName"] == "nginx"


def test_httproute_has_one_path_prefix_backend_per_model_plus_catch_all() -> None:
    route = render(models=TWO_MODELS, httpRoute={"enabled": True, "parentRefs": [{"name": "gw"}], "defaultModel": "beta"}).one("HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    rules = route["spec"]["rules"]
    assert [r["matches"][0]["path"] for r in rules[:2]] == [{"type": "PathPrefix", "value": "/alpha"}, {"type": "PathPrefix", "value": "/beta"}]
    assert all(r["filters"][0]["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"} for r in rules[:2])
    assert [r["backendRefs"] for r in rules] == [
        [{"name": f"{FULLNAME}-alpha", "port": HTTP_PORT}],
        [{"name": f"{FULLNAME}-beta", "port": HTTP_PORT}],
        [{"name": f"{FULLNAME}-beta", "port": HTTP_PORT}],
    ]
    assert "matches" not in rules[2]
    assert all(r["timeouts"]["request"] == "3600s" for r in rules)


def test_httproute_header_routing_matches_the_model_header() -> None:
    route = render(models=TWO_MODELS, httpRoute={"enabled": True, "parentRefs": [{"name": "gw"}], "routing": "header", "catchAll": False}).one("HTTPRoute")
    rules = route["spec"]["rules"]
    assert [r["matches"][0]["headers"] for r in rules] == [
        [{"type": "Exact", "name": "X-Model", "value": "alpha"}],
        [{"type": "Exact", "name": "X-Model", "value": "beta"}],
    ]
    assert all("filters" not in r for r in rules)


def test_no_ingress_or_route_by_default() -> None:
    rendered = render()
    assert not rendered.of_kind("Ingress") and not rendered.of_kind("HTTPRoute")


# ---------------------------------------------------------------- autoscaling

def test_hpa_scales_on_vllm_pod_metrics_with_stabilization() -> None:
    rendered = render(defaults={"autoscaling": {"hpa": {"enabled": True, "maxReplicas": 5, "kvCacheUsage": {"enabled": True}}}})
    hpa = rendered.one("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{FULLNAME}-{DEFAULT_MODEL}"}
    metrics = {m["pods"]["metric"]["name"]: m["pods"]["target"] for m in hpa["spec"]["metrics"]}
    assert metrics == {
        "vllm:num_requests_waiting": {"type": "AverageValue", "averageValue": "5"},
        "vllm:kv_cache_usage_perc": {"type": "AverageValue", "averageValue": "0.8"},
    }
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 600
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 5)


def test_hpa_external_metric_selects_the_model_service() -> None:
    hpa = render(defaults={"autoscaling": {"hpa": {"enabled": True, "metricType": "External"}}}).one("HorizontalPodAutoscaler")
    metric = hpa["spec"]["metrics"][0]["external"]["metric"]
    assert metric == {"name": "vllm:num_requests_waiting", "selector": {"matchLabels": {"service": f"{FULLNAME}-{DEFAULT_MODEL}"}}}


@pytest.mark.parametrize("scaler", ["hpa", "keda"])
def test_autoscaled_deployment_leaves_replicas_to_the_autoscaler(scaler: str) -> None:
    assert "replicas" not in deployment(render(defaults={"autoscaling": {scaler: {"enabled": True}}}))["spec"]


def test_replicas_are_set_without_autoscaling() -> None:
    assert deployment(render(defaults={"replicas": 3}))["spec"]["replicas"] == 3


def test_keda_queries_sum_to_one_series_per_model() -> None:
    scaled = render(defaults={"autoscaling": {"keda": {"enabled": True, "kvCacheUsage": {"enabled": True}}}}).one("ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    queries = [t["metadata"]["query"] for t in scaled["spec"]["triggers"]]
    assert queries == [
        f'sum(vllm:num_requests_waiting{{namespace="{NAMESPACE}", model_name="{DEFAULT_MODEL_ID}"}})',
        f'sum(vllm:kv_cache_usage_perc{{namespace="{NAMESPACE}", model_name="{DEFAULT_MODEL_ID}"}})',
    ]
    assert all(t["type"] == "prometheus" and t["metricType"] == "AverageValue" for t in scaled["spec"]["triggers"])
    behavior = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 600


def test_keda_custom_query_aggregated_with_sum_by_is_used() -> None:
    query = 'sum by (model_name) (vllm:num_requests_waiting{namespace="llm"})'
    scaled = render(defaults={"autoscaling": {"keda": {"enabled": True, "numRequestsWaiting": {"query": query}}}}).one("ScaledObject")
    assert scaled["spec"]["triggers"][0]["metadata"]["query"] == query


def test_keda_scales_to_zero_with_a_trigger_that_exists_at_zero() -> None:
    wake = {"type": "prometheus", "metadata": {"serverAddress": "http://prometheus:9090", "query": "sum(rate(nginx_ingress_controller_requests[2m]))", "threshold": "10"}}
    keda = {"enabled": True, "minReplicaCount": 0, "extraTriggers": [wake]}
    scaled = render(defaults={"autoscaling": {"keda": keda}}).one("ScaledObject")
    assert scaled["spec"]["minReplicaCount"] == 0
    assert scaled["spec"]["triggers"][-1]["metadata"]["query"] == wake["metadata"]["query"]


def test_no_autoscaler_by_default() -> None:
    rendered = render()
    assert not rendered.of_kind("HorizontalPodAutoscaler") and not rendered.of_kind("ScaledObject")


# ---------------------------------------------------------------- availability

def test_pdb_per_model_allows_one_disruption_by_default() -> None:
    pdb = render(models=TWO_MODELS).one("PodDisruptionBudget", f"{FULLNAME}-alpha")
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": {**ENGINE_SELECTOR, "llmstack.io/model": "alpha"}}}


def test_pdb_min_available() -> None:
    pdb = render(defaults={"pdb": {"minAvailable": "50%", "maxUnavailable": ""}}).one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == "50%" and "maxUnavailable" not in pdb["spec"]


# ---------------------------------------------------------------- network policy

def test_networkpolicy_is_on_by_default_and_selects_every_engine() -> None:
    policy = render(models=TWO_MODELS).one("NetworkPolicy", FULLNAME)
    assert policy["spec"]["podSelector"] == {"matchLabels": ENGINE_SELECTOR}
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_networkpolicy_admits_only_the_http_port_from_clients_prometheus_and_the_test() -> None:
    policy = render(networkPolicy={"ingress": {"namespaces": ["ingress-nginx", "gateway-system"]}}).one("NetworkPolicy", FULLNAME)
    rules = policy["spec"]["ingress"]
    assert all(r["ports"] == [{"port": "http", "protocol": "TCP"}] for r in rules)
    peers = [p for r in rules for p in r["from"]]
    namespaces = [p["namespaceSelector"]["matchLabels"].get("kubernetes.io/metadata.name") for p in peers if "namespaceSelector" in p]
    assert namespaces == ["ingress-nginx", "gateway-system", "monitoring"]
    prometheus = next(p for p in peers if p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "prometheus")
    assert "namespaceSelector" in prometheus, "namespace and pod selector in one peer (AND)"
    assert {"podSelector": {"matchLabels": {**ENGINE_SELECTOR, "app.kubernetes.io/component": "test"}}} in peers


def test_networkpolicy_always_allows_dns_egress() -> None:
    policy = render(networkPolicy={"egress": {"modelSources": {"enabled": False}}}).one("NetworkPolicy", FULLNAME)
    assert policy["spec"]["egress"] == [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]


def test_networkpolicy_allows_https_to_model_sources_by_default() -> None:
    egress = render().one("NetworkPolicy", FULLNAME)["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]} in egress


def test_networkpolicy_extra_rules_are_appended() -> None:
    extra_in = {"from": [{"ipBlock": {"cidr": "10.1.0.0/16"}}], "ports": [{"port": 8000, "protocol": "TCP"}]}
    extra_out = {"to": [{"ipBlock": {"cidr": "10.2.0.0/16"}}], "ports": [{"port": 9000, "protocol": "TCP"}]}
    spec = render(networkPolicy={"extraIngress": [extra_in], "extraEgress": [extra_out]}).one("NetworkPolicy", FULLNAME)["spec"]
    assert spec["ingress"][-1] == extra_in and spec["egress"][-1] == extra_out


def test_networkpolicy_without_allowed_callers_denies_all_ingress() -> None:
    spec = render(
        networkPolicy={"ingress": {"namespaces": [], "prometheus": {"enabled": False}}}, tests={"enabled": False}
    ).one("NetworkPolicy", FULLNAME)["spec"]
    assert spec["ingress"] == []


def test_networkpolicy_can_be_disabled() -> None:
    assert not render(networkPolicy={"enabled": False}).of_kind("NetworkPolicy")


# ---------------------------------------------------------------- monitoring

def test_servicemonitor_scrapes_every_engine_service_and_carries_selection_labels() -> None:
    monitor = render(monitoring={"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}).one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["selector"] == {"matchLabels": ENGINE_SELECTOR}
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["targetLabels"] == ["llmstack.io/model"]


def test_podmonitor_scrapes_engine_pods() -> None:
    monitor = render(monitoring={"podMonitor": {"enabled": True, "labels": {"release": "prom"}}}).one("PodMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["selector"] == {"matchLabels": ENGINE_SELECTOR}
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "http"


def test_no_monitor_by_default() -> None:
    rendered = render()
    assert not rendered.of_kind("ServiceMonitor") and not rendered.of_kind("PodMonitor")


# ---------------------------------------------------------------- helm test

def test_helm_test_pod_is_a_test_hook_with_a_pinned_curl_image() -> None:
    pod = helm_test_pod(render())
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    image = pod["spec"]["containers"][0]["image"]
    assert image.startswith("curlimages/curl:") and not image.endswith(":latest")
    assert pod["spec"]["restartPolicy"] == "Never"


def test_helm_test_lists_models_and_requests_a_completion_from_every_model() -> None:
    pod = helm_test_pod(render(models=TWO_MODELS))
    container = pod["spec"]["containers"][0]
    script = container["args"][0]
    assert "/v1/models" in script and "/v1/completions" in script
    variables = env(container)
    assert variables["URL_1"]["value"] == f"http://{FULLNAME}-beta.{NAMESPACE}.svc:{HTTP_PORT}"
    assert json.loads(variables["BODY_1"]["value"]) == {"model": "org/beta", "prompt": "Hello", "max_tokens": 1}
    assert script.count('check "$URL_') == 2


def test_helm_test_reads_the_api_key_from_the_secret() -> None:
    rendered = render(apiKey={"enabled": True, "useExisting": False, "value": API_KEY})
    ref = env(helm_test_pod(rendered)["spec"]["containers"][0])["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": f"{FULLNAME}-api-key", "key": "api-key"}


def test_helm_test_can_be_disabled() -> None:
    assert not render(tests={"enabled": False}).of_kind("Pod")


def test_helm_test_pod_takes_a_node_selector_and_tolerations() -> None:
    """On a cluster whose every node is tainted or labelled, the test pod must be placeable too."""
    toleration = {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}
    spec = helm_test_pod(render(tests={"nodeSelector": {"pool": "system"}, "tolerations": [toleration]}))["spec"]
    assert (spec["nodeSelector"], spec["tolerations"]) == ({"pool": "system"}, [toleration])
    assert {"nodeSelector", "tolerations"}.isdisjoint(helm_test_pod(render())["spec"])


# ---------------------------------------------------------------- NOTES

def install_notes(*sets: str, set_json: dict[str, Any] | None = None) -> str:
    """NOTES.txt as `helm install` prints it (client-side dry run), with `--set` and `--set-json` values."""
    args = [tool("helm"), "install", RELEASE, str(helm.CHARTS / CHART), "--namespace", NAMESPACE, "--dry-run=client"]
    for value in sets:
        args += ["--set", value]
    for key, value in (set_json or {}).items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    proc = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "KUBECONFIG": "/dev/null"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("NOTES:", 1)[1]


def test_notes_print_paste_ready_port_forward_and_curl() -> None:
    notes = install_notes("apiKey.enabled=true", "apiKey.existingSecret=llm-key")
    service = f"{FULLNAME}-{DEFAULT_MODEL}"
    assert f"kubectl --namespace {NAMESPACE} port-forward svc/{service} 8000:{HTTP_PORT}" in notes
    assert 'curl http://127.0.0.1:8000/v1/models -H "Authorization: Bearer $VLLM_API_KEY"' in notes
    assert "get secret llm-key" in notes


def test_notes_give_the_startup_budget_a_declared_start_time_sets() -> None:
    assert "the startup probe allows up to\n1200 seconds" in install_notes("defaults.startup.expectedSeconds=600")


def test_notes_name_the_models_whose_hub_revision_floats() -> None:
    assert f"Floating model revision: {DEFAULT_MODEL} loads whatever" in install_notes()
    pinned = {"models": [{"name": DEFAULT_MODEL, "model": DEFAULT_MODEL_ID, "download": {"enabled": True, "revision": "a" * 40}}]}
    assert "Floating model revision" not in install_notes(set_json=pinned)
    local = {"models": [{"name": "tiny", "model": "/models/tiny"}]}
    assert "Floating model revision" not in install_notes(set_json=local)


def test_notes_mention_helm_test_only_when_the_tests_are_installed() -> None:
    assert f"helm test {RELEASE}" in install_notes()
    assert "helm test" not in install_notes("tests.enabled=false")


# ---------------------------------------------------------------- tracing

def test_tracing_is_off_by_default() -> None:
    rendered = render()
    assert not [a for a in engine(rendered)["args"] if a.startswith("--otlp-traces-endpoint")]
    assert "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" not in env(engine(rendered))


def test_tracing_passes_the_endpoint_to_vllm_over_otlp_http() -> None:
    url = "http://otel-collector.observability:4318/v1/traces"
    container = engine(render(tracing={"enabled": True, "otlpEndpoint": url}))

    assert flag_value(container["args"], "--otlp-traces-endpoint") == url
    variables = env(container)
    assert variables["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"]["value"] == "http/protobuf"
    assert variables["OTEL_SERVICE_NAME"]["value"] == f"{FULLNAME}-{DEFAULT_MODEL}"


# ---------------------------------------------------------------- node-local storage

def test_the_engine_requests_the_ephemeral_storage_of_its_pod_local_volumes() -> None:
    """cacheSizeLimit 20Gi + tmpSizeLimit 2Gi + 1Gi for logs, as request and limit."""
    resources = engine(render())["resources"]
    assert resources["requests"]["ephemeral-storage"] == resources["limits"]["ephemeral-storage"] == "23552Mi"


def test_an_emptydir_model_volume_adds_its_size_limit_to_engine_and_download_container() -> None:
    rendered = render(defaults={"storage": {"type": "emptyDir", "emptyDir": {"sizeLimit": "50Gi"}}, "download": {"enabled": True, "repo": "Qwen/Qwen2.5-0.5B-Instruct"}})
    expected = f"{(20 + 2 + 1 + 50) * 1024}Mi"
    assert engine(rendered)["resources"]["requests"]["ephemeral-storage"] == expected
    assert init_container(rendered)["resources"]["limits"]["ephemeral-storage"] == expected


def test_an_unbounded_volume_leaves_ephemeral_storage_unset() -> None:
    resources = engine(render(defaults={"storage": {"type": "emptyDir", "emptyDir": {"sizeLimit": ""}}}))["resources"]
    assert "ephemeral-storage" not in resources["requests"] and "ephemeral-storage" not in resources["limits"]


@pytest.mark.parametrize("side", ["requests", "limits"])
def test_ephemeral_storage_set_in_resources_leaves_both_to_the_user(side: str) -> None:
    """A derived request above the user's own limit would be rejected by the API server."""
    resources = engine(render(defaults={"resources": {side: {"ephemeral-storage": "10Gi"}}}))["resources"]
    assert resources[side]["ephemeral-storage"] == "10Gi"
    other = "limits" if side == "requests" else "requests"
    assert "ephemeral-storage" not in resources.get(other, {})
