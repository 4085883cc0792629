"""One behaviour of the kuberay-llm chart per test: what a value renders into."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from .chart import (
    CHART_DIR,
    VALUE_SET_IDS,
    VALUE_SETS,
    CPU_SCENARIO,
    DASHBOARD_PORT,
    EVERYTHING_SCENARIO,
    EXISTING_SECRETS_SCENARIO,
    FULLNAME,
    METRICS_PORT,
    NAMESPACE,
    PRESET_DIR,
    RAY_PORTS,
    RELEASE,
    SERVE_PORT,
    cluster,
    env_of,
    head,
    notes,
    ray_container,
    ray_pod_specs,
    rayservice,
    render,
    render_text,
    values_args,
    worker_groups,
)

CHART_YAML = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
SELECTOR_KEYS = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}
STANDARD_LABELS = {
    "app.kubernetes.io/name": "kuberay-llm",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/version": CHART_YAML["appVersion"],
    "helm.sh/chart": f"kuberay-llm-{CHART_YAML['version']}",
}
EVERYTHING_API_KEY = "test-api-key-value-0123456789"
EVERYTHING_HF_TOKEN = "hf_test_token_value_0123456789"
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
# Ray sizes its object store at 30% of the memory, capped at 10 GB when /dev/shm is
# smaller than that, and moves it to the (slow) disk when /dev/shm cannot hold it.
OBJECT_STORE_SHARE, OBJECT_STORE_SHM_CAP = 0.3, 10**10
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def quantity(text: str | int) -> float:
    text = str(text)
    for suffix, factor in UNITS.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def by_name(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs}


def network_policy(rendered) -> dict:
    """The Ray pods' NetworkPolicy (the helm test pod has one of its own)."""
    policies = [p for p in rendered.of_kind("NetworkPolicy") if p["metadata"]["labels"].get("app.kubernetes.io/component") != "test"]
    assert len(policies) == 1, [p["metadata"]["name"] for p in policies]
    return policies[0]


def ingress_rule_ports(rule: dict) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


def rule_with_port(rules: list[dict], port: int) -> list[dict]:
    return [r for r in rules if port in ingress_rule_ports(r)]


# --- Chart metadata and images ------------------------------------------------------


def test_chart_yaml_pins_version_app_version_kube_version_and_license() -> None:
    assert (CHART_YAML["version"], CHART_YAML["appVersion"]) == ("0.2.0", "0.2.0")
    assert CHART_YAML["kubeVersion"] == ">=1.29.0-0"
    assert CHART_YAML["annotations"]["artifacthub.io/license"] == "Apache-2.0"


def test_image_tags_are_the_app_version() -> None:
    assert VALUES["image"]["gpu"]["tag"] == CHART_YAML["appVersion"]
    assert VALUES["image"]["cpu"]["tag"] == f"{CHART_YAML['appVersion']}-cpu"


def test_every_ray_container_runs_the_gpu_image_by_default() -> None:
    images = {name: ray_container(spec)["image"] for name, spec in ray_pod_specs(render()).items()}
    assert set(images.values()) == {f"ghcr.io/llmstack/serve-app:{CHART_YAML['appVersion']}"}, images


def test_cpu_variant_runs_the_cpu_image_everywhere() -> None:
    images = {ray_container(spec)["image"] for spec in ray_pod_specs(render([CPU_SCENARIO])).values()}
    assert images == {f"ghcr.io/llmstack/serve-app:{CHART_YAML['appVersion']}-cpu"}


def test_image_digest_is_pinned_after_the_tag() -> None:
    image = ray_container(head(render([EVERYTHING_SCENARIO]))["template"]["spec"])["image"]
    assert image == "ghcr.io/llmstack/serve-app:0.2.0@sha256:" + "0" * 64


def test_ray_version_is_pinned() -> None:
    assert cluster(render())["rayVersion"] == "2.60.0"


# --- Head and worker groups ---------------------------------------------------------


def test_head_announces_no_gpus_and_no_cpus_so_serve_replicas_go_to_workers() -> None:
    h = head(render())
    assert h["rayStartParams"]["num-gpus"] == "0"
    assert h["rayStartParams"]["num-cpus"] == "0"
    assert "nvidia.com/gpu" not in json.dumps(h["template"])


def test_head_num_cpus_null_lets_ray_count_the_cpus() -> None:
    assert "num-cpus" not in head(render(set_json={"head": {"numCpus": None}}))["rayStartParams"]


def test_worker_groups_get_their_gpus_as_limits_and_ray_start_param() -> None:
    groups = worker_groups(render([EVERYTHING_SCENARIO]))
    for name, gpus in {"h100-x8-x2": 8, "l4": 1}.items():
        container = ray_container(groups[name]["template"]["spec"])
        assert container["resources"]["limits"]["nvidia.com/gpu"] == gpus
        assert groups[name]["rayStartParams"]["num-gpus"] == str(gpus)


def test_cpu_worker_group_requests_no_gpu() -> None:
    (group,) = worker_groups(render([CPU_SCENARIO])).values()
    assert "nvidia.com/gpu" not in json.dumps(group)
    assert group["rayStartParams"]["num-gpus"] == "0"


def test_multi_host_group_renders_num_of_hosts_with_gpus_per_host() -> None:
    (group,) = worker_groups(render([PRESET_DIR / "llama-3.1-405b-tp8-pp4-multinode.yaml"])).values()
    assert group["numOfHosts"] == 4
    assert ray_container(group["template"]["spec"])["resources"]["limits"]["nvidia.com/gpu"] == 8


def test_worker_group_replica_bounds_render() -> None:
    groups = worker_groups(render([EVERYTHING_SCENARIO]))
    assert {k: groups["l4"][k] for k in ("replicas", "minReplicas", "maxReplicas", "numOfHosts")} == {
        "replicas": 1, "minReplicas": 0, "maxReplicas": 2, "numOfHosts": 1,
    }
    assert groups["h100-x8-x2"]["idleTimeoutSeconds"] == 1800
    assert "idleTimeoutSeconds" not in groups["l4"]


def test_worker_groups_inherit_worker_defaults_and_override_them() -> None:
    rendered = render(set_json={
        "workerDefaults": {"runtimeClassName": "nvidia", "nodeSelector": {"pool": "gpu"}, "tolerations": [{"key": "a", "operator": "Exists"}]},
        "workerGroups": [
            {"groupName": "inherits", "gpus": 1, "minReplicas": 1, "maxReplicas": 1},
            {"groupName": "overrides", "gpus": 1, "runtimeClassName": "", "nodeSelector": {"pool": "other"}, "tolerations": []},
            {"groupName": "own-list", "gpus": 1, "nodeSelector": {"zone": "b"}, "tolerations": [{"key": "b", "operator": "Exists"}]},
        ],
    })
    specs = ray_pod_specs(rendered)
    assert specs["inherits"]["runtimeClassName"] == "nvidia"
    assert specs["inherits"]["nodeSelector"] == {"pool": "gpu"}
    assert specs["inherits"]["tolerations"] == [{"key": "a", "operator": "Exists"}]
    assert "runtimeClassName" not in specs["overrides"]
    assert specs["overrides"]["nodeSelector"] == {"pool": "other"}
    assert "tolerations" not in specs["overrides"]
    # Maps merge key by key; a list replaces the default list whole (values.yaml says so).
    assert specs["own-list"]["nodeSelector"] == {"pool": "gpu", "zone": "b"}
    assert specs["own-list"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_scheduling_fields_render_per_group() -> None:
    specs = ray_pod_specs(render([EVERYTHING_SCENARIO]))
    assert specs["head"]["nodeSelector"] == {"node-role.example.com/system": "true"}
    assert specs["head"]["priorityClassName"] == "high-priority"
    h100 = specs["h100-x8-x2"]
    assert h100["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert h100["runtimeClassName"] == "nvidia"
    assert h100["priorityClassName"] == "high-priority"
    assert "podAntiAffinity" in h100["affinity"]
    assert h100["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_ray_ports_are_pinned_on_every_node() -> None:
    rendered = render()
    head_params = head(rendered)["rayStartParams"]
    assert {k: head_params[k] for k in RAY_PORTS} == {k: str(v) for k, v in RAY_PORTS.items()}
    for group in worker_groups(rendered).values():
        worker_only = {k: v for k, v in RAY_PORTS.items() if k not in ("port", "ray-client-server-port", "dashboard-port")}
        assert {k: group["rayStartParams"].get(k) for k in worker_only} == {k: str(v) for k, v in worker_only.items()}


def test_ray_start_params_from_values_are_passed_as_strings() -> None:
    assert head(render([EVERYTHING_SCENARIO]))["rayStartParams"]["dashboard-host"] == "0.0.0.0"


# --- Autoscaling and upgrades -------------------------------------------------------


def test_in_tree_autoscaler_renders_its_options() -> None:
    c = cluster(render([EVERYTHING_SCENARIO]))
    assert c["enableInTreeAutoscaling"] is True
    options = c["autoscalerOptions"]
    assert {k: options[k] for k in ("version", "idleTimeoutSeconds", "upscalingMode")} == {
        "version": "v2", "idleTimeoutSeconds": 300, "upscalingMode": "Conservative",
    }
    assert options["resources"] == VALUES["autoscaler"]["resources"]
    assert options["env"] == [{"name": "AUTOSCALER_LOG_LEVEL", "value": "INFO"}]
    assert options["securityContext"] == VALUES["containerSecurityContext"]


def test_autoscaler_off_renders_no_options() -> None:
    c = cluster(render([EXISTING_SECRETS_SCENARIO]))
    assert c["enableInTreeAutoscaling"] is False
    assert "autoscalerOptions" not in c


def test_service_account_token_is_mounted_only_into_the_head_with_the_autoscaler() -> None:
    specs = ray_pod_specs(render())
    assert specs.pop("head")["automountServiceAccountToken"] is True
    assert {s["automountServiceAccountToken"] for s in specs.values()} == {False}
    assert render().one("ServiceAccount")["automountServiceAccountToken"] is False
    assert head(render([EXISTING_SECRETS_SCENARIO]))["template"]["spec"]["automountServiceAccountToken"] is False


def test_existing_service_account_is_used_and_not_created() -> None:
    rendered = render([EXISTING_SECRETS_SCENARIO])
    assert not rendered.of_kind("ServiceAccount")
    assert {s["serviceAccountName"] for s in ray_pod_specs(rendered).values()} == {"llm-workloads"}


def test_upgrade_strategy_defaults_to_new_cluster_without_options() -> None:
    spec = rayservice(render())["spec"]
    assert spec["upgradeStrategy"] == {"type": "NewCluster"}


def test_incremental_upgrade_renders_cluster_upgrade_options() -> None:
    spec = rayservice(render([EVERYTHING_SCENARIO]))["spec"]
    assert spec["upgradeStrategy"] == {
        "type": "NewClusterWithIncrementalUpgrade",
        "clusterUpgradeOptions": {"gatewayClassName": "istio", "maxSurgePercent": 50, "stepSizePercent": 25, "intervalSeconds": 60},
    }


def test_upgrade_strategy_none_renders() -> None:
    assert rayservice(render([EXISTING_SECRETS_SCENARIO]))["spec"]["upgradeStrategy"] == {"type": "None"}


def test_cluster_deletion_delay_and_head_exclusion_render() -> None:
    defaults, everything = rayservice(render())["spec"], rayservice(render([EVERYTHING_SCENARIO]))["spec"]
    assert (defaults["rayClusterDeletionDelaySeconds"], defaults["excludeHeadPodFromServeSvc"]) == (60, True)
    assert (everything["rayClusterDeletionDelaySeconds"], everything["excludeHeadPodFromServeSvc"]) == (120, False)


def test_rayservice_annotations_render() -> None:
    assert rayservice(render([EVERYTHING_SCENARIO]))["metadata"]["annotations"] == {"ray.io/initializing-timeout": "60m"}


# --- Secrets ------------------------------------------------------------------------


def test_hf_token_reaches_every_ray_container_through_secret_key_ref() -> None:
    for name, spec in ray_pod_specs(render([EXISTING_SECRETS_SCENARIO])).items():
        assert env_of(ray_container(spec))["HF_TOKEN"] == {
            "name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "HF_TOKEN"}},
        }, name


def test_api_key_reaches_every_ray_container_under_auth_api_key_env() -> None:
    for name, spec in ray_pod_specs(render([EXISTING_SECRETS_SCENARIO])).items():
        assert env_of(ray_container(spec))["LLM_API_KEY"] == {
            "name": "LLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "team-llm-key", "key": "key"}},
        }, name


def test_no_token_and_no_key_env_without_auth_or_token() -> None:
    for spec in ray_pod_specs(render()).values():
        assert set(env_of(ray_container(spec))) == {"HF_HOME"}


def test_existing_secrets_are_referenced_not_created() -> None:
    assert not render([EXISTING_SECRETS_SCENARIO]).of_kind("Secret")


def test_chart_created_secrets_hold_the_values_and_are_referenced() -> None:
    rendered = render([EVERYTHING_SCENARIO])
    fullname = "test-llm"
    secrets = by_name(rendered.of_kind("Secret"))
    assert base64.b64decode(secrets[f"{fullname}-api-key"]["data"]["api-key"]).decode() == EVERYTHING_API_KEY
    assert base64.b64decode(secrets[f"{fullname}-hf-token"]["data"]["token"]).decode() == EVERYTHING_HF_TOKEN
    env = env_of(ray_container(head(rendered)["template"]["spec"]))
    assert env["SERVE_APP_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": f"{fullname}-api-key", "key": "api-key"}
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": f"{fullname}-hf-token", "key": "token"}


def test_no_secret_value_appears_outside_its_secret() -> None:
    text = render_text([EVERYTHING_SCENARIO])
    for secret in (EVERYTHING_API_KEY, EVERYTHING_HF_TOKEN):
        assert secret not in text
    docs = [d for d in yaml.safe_load_all(text) if d]
    for doc in docs:
        if doc["kind"] != "Secret":
            dumped = json.dumps(doc)
            for secret in (EVERYTHING_API_KEY, EVERYTHING_HF_TOKEN):
                assert base64.b64encode(secret.encode()).decode() not in dumped, doc["kind"]
    serve_config = rayservice(render([EVERYTHING_SCENARIO]))["spec"]["serveConfigV2"]
    assert "valueFrom" not in serve_config and "secret" not in serve_config.lower()


# --- Storage ------------------------------------------------------------------------


def test_model_cache_claim_is_created_and_kept() -> None:
    pvc = render([EVERYTHING_SCENARIO]).one("PersistentVolumeClaim")
    assert pvc["metadata"]["name"] == "test-llm-model-cache"
    assert pvc["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep", "backup.example.com/skip": "true"}
    assert pvc["spec"] == {"accessModes": ["ReadWriteMany"], "storageClassName": "efs", "resources": {"requests": {"storage": "500Gi"}}}


def test_model_cache_is_mounted_at_models_in_every_ray_pod() -> None:
    for name, spec in ray_pod_specs(render([EVERYTHING_SCENARIO])).items():
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["model-cache"]["persistentVolumeClaim"] == {"claimName": "test-llm-model-cache", "readOnly": False}, name
        mounts = {m["name"]: m for m in ray_container(spec)["volumeMounts"]}
        assert mounts["model-cache"] == {"name": "model-cache", "mountPath": "/models", "readOnly": False}, name


def test_existing_model_cache_claim_is_used_and_not_created() -> None:
    rendered = render([CPU_SCENARIO])
    assert not rendered.of_kind("PersistentVolumeClaim")
    for spec in ray_pod_specs(rendered).values():
        claims = [v["persistentVolumeClaim"] for v in spec["volumes"] if "persistentVolumeClaim" in v]
        assert claims == [{"claimName": "tiny-models", "readOnly": True}]


def test_no_model_cache_by_default() -> None:
    rendered = render()
    assert not rendered.of_kind("PersistentVolumeClaim")
    assert "persistentVolumeClaim" not in json.dumps(ray_pod_specs(rendered))


@pytest.mark.parametrize(
    ("values", "hf_home"),
    [
        ([], "/tmp/huggingface"),
        ([EVERYTHING_SCENARIO], "/models/huggingface"),
        ([CPU_SCENARIO], "/tmp/huggingface"),
    ],
    ids=["no-cache", "writable-cache", "read-only-cache"],
)
def test_hf_home_is_on_a_writable_path(values, hf_home) -> None:
    for spec in ray_pod_specs(render(values)).values():
        assert env_of(ray_container(spec))["HF_HOME"]["value"] == hf_home


def test_hf_hub_offline_is_set_when_asked() -> None:
    env = env_of(ray_container(head(render([CPU_SCENARIO]))["template"]["spec"]))
    assert env["HF_HUB_OFFLINE"] == {"name": "HF_HUB_OFFLINE", "value": "1"}


def test_dev_shm_is_a_memory_volume_sized_per_group() -> None:
    specs = ray_pod_specs(render([EVERYTHING_SCENARIO]))
    sizes = {"head": "3Gi", "h100-x8-x2": "64Gi", "l4": "10Gi"}
    for name, size in sizes.items():
        volumes = {v["name"]: v for v in specs[name]["volumes"]}
        assert volumes["shm"] == {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": size}}, name
        assert {"name": "shm", "mountPath": "/dev/shm"} in ray_container(specs[name])["volumeMounts"]


@pytest.mark.parametrize("values", VALUE_SETS, ids=VALUE_SET_IDS)
def test_dev_shm_holds_rays_default_object_store(values) -> None:
    checked = 0
    for name, spec in ray_pod_specs(render(values_args(values))).items():
        memory = ray_container(spec).get("resources", {}).get("limits", {}).get("memory")
        if memory is None:
            continue
        shm = quantity({v["name"]: v for v in spec["volumes"]}["shm"]["emptyDir"]["sizeLimit"])
        assert shm >= min(OBJECT_STORE_SHARE * quantity(memory), OBJECT_STORE_SHM_CAP), f"{name}: /dev/shm {shm:.3g} B for {memory}"
        checked += 1
    assert checked, "no Ray pod with a memory limit"


def test_tmp_is_a_scratch_volume_with_an_optional_size_limit() -> None:
    specs = ray_pod_specs(render([CPU_SCENARIO]))
    assert {v["name"]: v for v in specs["head"]["volumes"]}["tmp"] == {"name": "tmp", "emptyDir": {}}
    assert {v["name"]: v for v in specs["cpu"]["volumes"]}["tmp"] == {"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}}


def test_extra_env_volumes_and_mounts_reach_every_ray_pod() -> None:
    for name, spec in ray_pod_specs(render([EVERYTHING_SCENARIO])).items():
        container = ray_container(spec)
        assert env_of(container)["NCCL_DEBUG"]["value"] == "WARN", name
        assert {"name": "adapters-config", "configMap": {"name": "adapters"}} in spec["volumes"], name
        assert {"name": "adapters-config", "mountPath": "/etc/adapters", "readOnly": True} in container["volumeMounts"], name


# --- Security -----------------------------------------------------------------------


@pytest.mark.parametrize("values", [[], [EVERYTHING_SCENARIO]], ids=["defaults", "everything"])
def test_every_ray_pod_runs_restricted(values) -> None:
    for name, spec in ray_pod_specs(render(values)).items():
        pod = spec["securityContext"]
        assert (pod["runAsNonRoot"], pod["runAsUser"], pod["seccompProfile"]) == (True, 1000, {"type": "RuntimeDefault"}), name
        container = ray_container(spec)["securityContext"]
        assert {k: container[k] for k in RESTRICTED_CONTAINER} == RESTRICTED_CONTAINER, name


def test_probes_are_left_to_kuberay_unless_overridden() -> None:
    for spec in ray_pod_specs(render()).values():
        assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(ray_container(spec))
    specs = ray_pod_specs(render([EVERYTHING_SCENARIO]))
    assert ray_container(specs["head"])["readinessProbe"]["periodSeconds"] == 5
    assert "livenessProbe" not in ray_container(specs["head"])
    assert ray_container(specs["h100-x8-x2"])["livenessProbe"]["failureThreshold"] == 6
    assert not {"readinessProbe", "livenessProbe"} & set(ray_container(specs["l4"]))


# --- Labels and selectors -----------------------------------------------------------


def test_every_object_carries_the_standard_labels_and_common_labels() -> None:
    rendered = render(set_json={"commonLabels": {"team": "ml"}})
    for doc in rendered.docs:
        labels = doc["metadata"]["labels"]
        assert {k: labels.get(k) for k in STANDARD_LABELS} == STANDARD_LABELS, doc["kind"]
        assert labels["team"] == "ml", doc["kind"]


def test_ray_pod_templates_carry_their_component_and_pod_labels() -> None:
    rendered = render([EVERYTHING_SCENARIO])
    head_labels = head(rendered)["template"]["metadata"]["labels"]
    assert (head_labels["app.kubernetes.io/component"], head_labels["tier"], head_labels["team"]) == ("ray-head", "control", "ml-platform")
    l4 = worker_groups(rendered)["l4"]["template"]["metadata"]
    assert (l4["labels"]["app.kubernetes.io/component"], l4["labels"]["pool"]) == ("ray-worker", "l4")
    assert l4["annotations"] == {"example.com/cost-center": "42"}


def test_ray_pod_templates_do_not_change_with_the_chart_version() -> None:
    """KubeRay replaces the whole Ray cluster when rayClusterConfig changes."""
    rendered = render()
    assert "helm.sh/chart" in rayservice(rendered)["metadata"]["labels"]
    for template in [head(rendered)["template"], *(g["template"] for g in worker_groups(rendered).values())]:
        assert not {"helm.sh/chart", "app.kubernetes.io/version"} & set(template["metadata"]["labels"])
    assert f"kuberay-llm-{CHART_YAML['version']}" not in json.dumps(cluster(rendered))


def test_selectors_use_only_name_instance_and_component() -> None:
    rendered = render([EVERYTHING_SCENARIO])
    selectors = [
        rendered.one("Service")["spec"]["selector"],
        rendered.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        rendered.one("PodMonitor")["spec"]["selector"]["matchLabels"],
        network_policy(rendered)["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert set(selector) - {"ray.io/serve"} <= SELECTOR_KEYS, selector
        assert "team" not in selector


def test_openai_service_selects_ready_serve_pods_of_the_release_only() -> None:
    rendered = render()
    service = rendered.one("Service", f"{FULLNAME}-openai")
    assert service["spec"]["selector"] == {
        "app.kubernetes.io/name": "kuberay-llm",
        "app.kubernetes.io/instance": RELEASE,
        "ray.io/serve": "true",
    }
    assert service["spec"]["ports"] == [{"name": "http", "port": SERVE_PORT, "targetPort": "serve", "protocol": "TCP", "appProtocol": "http"}]
    # Head and worker pods carry the selector's release labels (KubeRay adds ray.io/serve).
    for template in [head(rendered)["template"], *(g["template"] for g in worker_groups(rendered).values())]:
        labels = template["metadata"]["labels"]
        assert {k: labels[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance")} == {
            "app.kubernetes.io/name": "kuberay-llm", "app.kubernetes.io/instance": RELEASE,
        }
        assert "ray.io/cluster" not in labels
        ports = {p["name"]: p["containerPort"] for p in template["spec"]["containers"][0]["ports"]}
        assert ports["serve"] == SERVE_PORT


# --- Network policy -----------------------------------------------------------------


def test_network_policy_selects_the_release_ray_pods() -> None:
    spec = network_policy(render())["spec"]
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "kuberay-llm", "app.kubernetes.io/instance": RELEASE}
    assert spec["podSelector"]["matchExpressions"] == [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["ray-head", "ray-worker"]}]
    assert spec["policyTypes"] == ["Ingress", "Egress"]


def test_network_policy_opens_ray_ports_only_between_the_release_ray_pods() -> None:
    spec = network_policy(render())["spec"]
    intra = [r for r in spec["ingress"] if 6379 in ingress_rule_ports(r)]
    assert len(intra) == 1
    (rule,) = intra
    assert rule["from"] == [{"podSelector": spec["podSelector"]}]
    single = {p["port"] for p in rule["ports"] if "endPort" not in p}
    ranges = {(p["port"], p["endPort"]) for p in rule["ports"] if "endPort" in p}
    pinned = {v for k, v in RAY_PORTS.items() if not k.endswith("worker-port")}
    assert single == pinned | {SERVE_PORT}
    assert ranges == {(RAY_PORTS["min-worker-port"], RAY_PORTS["max-worker-port"]), (32768, 60999)}


def test_network_policy_ports_cover_every_pinned_ray_start_param() -> None:
    rendered = render()
    (rule,) = [r for r in network_policy(rendered)["spec"]["ingress"] if 6379 in ingress_rule_ports(r)]
    allowed = ingress_rule_ports(rule)
    for group in [head(rendered), *worker_groups(rendered).values()]:
        for key, value in group["rayStartParams"].items():
            if key.endswith("port") and not key.endswith("worker-port"):
                assert int(value) in allowed, key


def test_network_policy_opens_the_serve_port_to_ingress_namespaces_and_the_namespace() -> None:
    rules = rule_with_port(network_policy(render())["spec"]["ingress"], SERVE_PORT)
    serve = [r for r in rules if ingress_rule_ports(r) == {SERVE_PORT}]
    assert len(serve) == 1
    assert serve[0]["from"] == [
        {"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["ingress-nginx"]}]}},
        {"podSelector": {}},
    ]


def test_network_policy_lets_the_helm_test_pod_in_when_the_namespace_is_closed() -> None:
    rendered = render(set_json={"networkPolicy": {"serve": {"namespaces": [], "sameNamespace": False}}})
    rules = rule_with_port(network_policy(rendered)["spec"]["ingress"], SERVE_PORT)
    serve = [r for r in rules if ingress_rule_ports(r) == {SERVE_PORT}]
    assert serve[0]["from"] == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "kuberay-llm", "app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/component": "test",
    }}}]


def test_network_policy_restricts_the_dashboard_to_the_operator_and_an_allowlist() -> None:
    defaults = rule_with_port(network_policy(render())["spec"]["ingress"], DASHBOARD_PORT)
    outside = [r for r in defaults if 6379 not in ingress_rule_ports(r)]
    assert [r["from"] for r in outside] == [VALUES["networkPolicy"]["operator"]["from"]]
    assert ingress_rule_ports(outside[0]) == {DASHBOARD_PORT, SERVE_PORT}
    everything = rule_with_port(network_policy(render([EVERYTHING_SCENARIO]))["spec"]["ingress"], DASHBOARD_PORT)
    allowlisted = [r for r in everything if ingress_rule_ports(r) == {DASHBOARD_PORT}]
    assert allowlisted[0]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ray-admin"}}}]


def test_network_policy_lets_prometheus_scrape_the_metrics_port() -> None:
    rules = [r for r in network_policy(render())["spec"]["ingress"] if ingress_rule_ports(r) == {METRICS_PORT}]
    assert [r["from"] for r in rules] == [VALUES["networkPolicy"]["metrics"]["from"]]


def test_network_policy_always_allows_dns_egress() -> None:
    for values in ([], [EXISTING_SECRETS_SCENARIO]):
        egress = network_policy(render(values))["spec"]["egress"]
        assert {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]} in egress


def test_network_policy_egress_allows_all_only_when_asked() -> None:
    assert {} in network_policy(render())["spec"]["egress"]
    closed = network_policy(render([EXISTING_SECRETS_SCENARIO]))["spec"]["egress"]
    assert {} not in closed
    assert {"to": [{"ipBlock": {"cidr": "10.0.0.10/32"}}], "ports": [{"port": 3128, "protocol": "TCP"}]} in closed


def test_network_policy_extra_ingress_is_appended() -> None:
    ingress = network_policy(render([EVERYTHING_SCENARIO]))["spec"]["ingress"]
    assert ingress[-1] == {"from": [{"podSelector": {"matchLabels": {"app": "debug"}}}], "ports": [{"port": 8000, "protocol": "TCP"}]}


def test_network_policy_can_be_disabled() -> None:
    assert not render(set_json={"networkPolicy": {"enabled": False}}).of_kind("NetworkPolicy")


# --- Disruption, monitoring, exposure -----------------------------------------------


def test_pdb_covers_the_worker_pods_with_an_integer_min_available() -> None:
    pdb = render([EVERYTHING_SCENARIO]).one("PodDisruptionBudget")
    assert pdb["spec"] == {
        "minAvailable": 2,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "llm", "app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/component": "ray-worker"}},
    }
    assert not render([EXISTING_SECRETS_SCENARIO]).of_kind("PodDisruptionBudget")


def test_pod_monitor_scrapes_the_metrics_port_of_head_and_workers() -> None:
    rendered = render([EVERYTHING_SCENARIO])
    monitor = rendered.one("PodMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}]
    assert monitor["spec"]["selector"]["matchExpressions"] == [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["ray-head", "ray-worker"]}]
    assert {"ray.io/cluster", "ray.io/node-type", "ray.io/group"} <= set(monitor["spec"]["podTargetLabels"])
    for name, spec in ray_pod_specs(rendered).items():
        ports = {p["name"]: p["containerPort"] for p in ray_container(spec)["ports"]}
        assert ports["metrics"] == METRICS_PORT, name
        assert spec["containers"][0]["name"] in ("ray-head", "ray-worker")


def test_pod_monitor_is_off_by_default() -> None:
    assert not render().of_kind("PodMonitor")


def test_ingress_streams_and_user_annotations_win() -> None:
    ingress = render([EVERYTHING_SCENARIO]).one("Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "3600"
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "7200"
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt"
    (rule,) = ingress["spec"]["rules"]
    assert rule["http"]["paths"] == [{"path": "/v1", "pathType": "Prefix", "backend": {"service": {"name": "test-llm-openai", "port": {"name": "http"}}}}]
    assert ingress["spec"]["tls"] == [{"secretName": "llm-tls", "hosts": ["llm.example.com"]}]


def test_httproute_sends_the_path_to_the_openai_service() -> None:
    route = render([EVERYTHING_SCENARIO]).one("HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateway-system", "sectionName": "https"}]
    (rule,) = route["spec"]["rules"]
    assert rule == {
        "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
        "backendRefs": [{"name": "test-llm-openai", "port": SERVE_PORT}],
        "timeouts": {"request": "7200s", "backendRequest": "3600s"},
    }


# --- helm test and NOTES ------------------------------------------------------------


def test_helm_test_pod_lists_models_through_the_openai_service() -> None:
    pod = render([PRESET_DIR / "two-models-shared-pool.yaml"]).one("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "curlimages/curl:8.11.1"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["URL"] == f"http://{FULLNAME}-openai.{NAMESPACE}.svc:8000/v1/models"
    assert env["MODEL_IDS"] == "llama-3.1-8b-instruct qwen2.5-7b-instruct"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True}


def test_helm_test_pod_sends_the_api_key_and_expects_401_without_it() -> None:
    (container,) = render([PRESET_DIR / "llama-3.1-8b-2x1gpu.yaml"]).one("Pod")["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "llm-api-key", "key": "api-key"}
    script = container["command"][-1]
    assert 'Authorization: Bearer ${API_KEY}' in script
    assert "= 401" in script
    (plain,) = render().one("Pod")["spec"]["containers"]
    assert "API_KEY" not in {e["name"] for e in plain["env"]}
    assert "= 401" not in plain["command"][-1]


def test_helm_test_pod_can_be_disabled() -> None:
    assert not render([EXISTING_SECRETS_SCENARIO]).of_kind("Pod")


def test_helm_test_pod_takes_a_node_selector_and_tolerations() -> None:
    """On a cluster whose every node is tainted or labelled, the test pod must be placeable too."""
    toleration = {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}
    spec = render(set_json={"tests": {"nodeSelector": {"pool": "system"}, "tolerations": [toleration]}}).one("Pod")["spec"]
    assert (spec["nodeSelector"], spec["tolerations"]) == ({"pool": "system"}, [toleration])
    assert {"nodeSelector", "tolerations"}.isdisjoint(render().one("Pod")["spec"])


def test_notes_print_port_forward_and_curl_commands() -> None:
    text = notes()
    assert f"kubectl -n {NAMESPACE} port-forward svc/{FULLNAME}-openai 8000:8000" in text
    assert "curl -s http://127.0.0.1:8000/v1/models" in text
    assert "auth.enabled is false" in text


def test_notes_mention_helm_test_only_when_the_tests_are_installed() -> None:
    assert f"helm test {RELEASE}" in notes()
    assert "helm test" not in notes(set_json={"tests": {"enabled": False}})


SURGE_WARNING = "no room for a model-setting upgrade at full scale"
CPU_MODEL = {"id": "tiny", "accelerator": {"kind": "CPU", "cpusPerWorker": 1}, "autoscaling": {"minReplicas": 1, "maxReplicas": 1}}


def cpu_workers(**fields: object) -> list[dict[str, object]]:
    return [{"groupName": "cpu", "gpus": 0, "minReplicas": 1, "maxReplicas": 1, **fields}]


def flat_notes(**set_json: object) -> str:
    return " ".join(notes(set_json=set_json).split())


def test_notes_warn_when_the_gpu_workers_have_no_room_for_an_upgrade_surge_replica() -> None:
    """Ray Serve starts a replacement before it stops an old replica (max_surge_percent)."""
    text = flat_notes(workerGroups=[{"groupName": "gpu", "gpus": 1, "minReplicas": 1, "maxReplicas": 1}])
    assert f"WARNING: {SURGE_WARNING}" in text
    assert "it needs 1 GPUs (the models take up to 1 of the 1 the worker groups offer)" in text
    assert SURGE_WARNING not in flat_notes(workerGroups=[{"groupName": "gpu", "gpus": 1, "minReplicas": 1, "maxReplicas": 2}])


def test_notes_count_only_fixed_replicas_as_room_when_the_autoscaler_is_off() -> None:
    groups = [{"groupName": "gpu", "gpus": 1, "replicas": 1, "minReplicas": 1, "maxReplicas": 2}]
    assert SURGE_WARNING in flat_notes(workerGroups=groups, autoscaler={"enabled": False})


def test_notes_warn_when_the_cpu_workers_have_no_ray_cpus_for_an_upgrade_surge_replica() -> None:
    """A CPU replica takes 1 Ray CPU for its LLMServer actor plus cpusPerWorker per engine worker."""
    cpu = {"image": {"variant": "cpu"}, "models": [CPU_MODEL]}
    text = flat_notes(**cpu, workerGroups=cpu_workers(rayStartParams={"num-cpus": "3"}))
    assert "it needs 2 Ray CPUs (the models take up to 2 of the 3 the worker groups offer)" in text
    assert SURGE_WARNING not in flat_notes(**cpu, workerGroups=cpu_workers(rayStartParams={"num-cpus": "4"}))
    assert SURGE_WARNING not in flat_notes(**cpu, workerGroups=cpu_workers(maxReplicas=2, resources={"requests": {"cpu": "2"}}))


def test_notes_leave_ray_cpus_alone_when_a_group_does_not_say_how_many_it_has() -> None:
    """Without num-cpus or a CPU request Ray counts the node's CPUs, unknown at render time."""
    text = flat_notes(image={"variant": "cpu"}, models=[CPU_MODEL], workerGroups=cpu_workers(resources={"requests": {"memory": "4Gi"}}))
    assert SURGE_WARNING not in text


@pytest.mark.parametrize("preset", sorted(p.name for p in PRESET_DIR.glob("*.yaml")))
def test_every_preset_has_room_for_an_upgrade_or_says_why_not(preset: str) -> None:
    text = " ".join(notes([PRESET_DIR / preset]).split())
    preset_text = (PRESET_DIR / preset).read_text()
    assert (SURGE_WARNING in text) == ("No room for a second" in preset_text), text


def test_notes_add_the_auth_header_when_auth_is_on() -> None:
    text = notes([PRESET_DIR / "llama-3.1-8b-2x1gpu.yaml"])
    assert f"kubectl -n {NAMESPACE} get secret llm-api-key -o jsonpath='{{.data.api-key}}' | base64 -d" in text
    assert 'curl -s http://127.0.0.1:8000/v1/models -H "Authorization: Bearer $API_KEY"' in text
