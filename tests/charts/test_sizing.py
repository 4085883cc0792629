"""The GPU memory sizing guard: both charts and serve_app.memory compute the same
estimate, and a placement that cannot fit fails `helm template` with its numbers and
the smallest tensor parallel size that would fit.

Helm and Python agree on every preset (the chart's `llmstack.io/sizing` annotation
against serve_app.memory.estimate) and on every case below (the chart's error text
against serve_app.memory.misfit_message)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from serve_app.config import AppConfig
from serve_app.memory import GPU_MEMORY_GB, Plan, estimate, misfit_message
from tests.support import helm

KUBERAY = "kuberay-llm"
STANDALONE = "vllm-standalone"
SIZING_TEMPLATE = "templates/_sizing.tpl"
ANNOTATION = "llmstack.io/sizing"
STANDALONE_DEFAULTS = yaml.safe_load((helm.CHARTS / STANDALONE / "values.yaml").read_text())["defaults"]

LLAMA_8B = {"parametersB": 8.03, "numLayers": 32, "hiddenSize": 4096, "numAttentionHeads": 32, "numKvHeads": 8}
LLAMA_70B = {"parametersB": 70.6, "numLayers": 80, "hiddenSize": 8192, "numAttentionHeads": 64, "numKvHeads": 8}
LLAMA_405B = {"parametersB": 405.9, "numLayers": 126, "hiddenSize": 16384, "numAttentionHeads": 128, "numKvHeads": 8}


class Case(NamedTuple):
    """One planned placement: the model size, its GPUs and its engine settings (camelCase, as in values)."""

    id: str
    sizing: dict[str, Any]
    gpu_type: str
    engine: dict[str, Any]
    # Texts the refusal must contain (numbers, the suggested TP); empty: the placement fits.
    expected: tuple[str, ...] = ()


MISFITS = [
    Case("70b-fp16-on-one-24gb-gpu", {"parametersB": 70}, "L4", {"dtype": "float16", "maxModelLen": 8192},
         ("weights 140.0 GB", "L4 GPU 24.0 GB", "21.6 GB", "46.98 GB", "smallest tensorParallelSize that fits: 16")),
    Case("70b-declared-architecture-on-one-24gb-gpu", LLAMA_70B, "L4", {"dtype": "bfloat16", "maxModelLen": 8192},
         ("weights 141.2 GB", "327680 bytes/token, declared architecture", "smallest tensorParallelSize that fits: 8")),
    Case("8b-bf16-on-a-16gb-t4", LLAMA_8B, "T4", {"dtype": "bfloat16", "maxModelLen": 4096},
         ("weights 16.1 GB", "T4 GPU 16.0 GB", "14.4 GB", "smallest tensorParallelSize that fits: 2")),
    Case("8b-context-too-long-for-the-kv-cache", LLAMA_8B, "L4", {"dtype": "bfloat16", "maxModelLen": 131072},
         ("leaves 4.5 GB per GPU", "131072-token sequence needs 17.18 GB", "smallest tensorParallelSize that fits: 2")),
    Case("405b-on-one-8-gpu-node", LLAMA_405B, "H100", {"dtype": "bfloat16", "tensorParallelSize": 8, "maxModelLen": 32768},
         ("weights 811.8 GB / 8 GPU(s) = 101.5 GB per GPU", "H100 GPU 80.0 GB", "72.0 GB", "smallest tensorParallelSize that fits: 16")),
    Case("utilization-too-low", LLAMA_8B, "A100-80G", {"dtype": "bfloat16", "gpuMemoryUtilization": 0.2, "maxModelLen": 8192},
         ("x gpuMemoryUtilization 0.20 = 16.0 GB", "leaves -1.1 GB", "smallest tensorParallelSize that fits: 2")),
    Case("declared-weights-too-large", {"weightsGb": 30}, "A10G", {"maxModelLen": 4096},
         ("weights 30.0 GB", "A10G GPU 24.0 GB", "smallest tensorParallelSize that fits: 2")),
    Case("awq-70b-on-one-24gb-gpu", LLAMA_70B, "L4", {"quantization": "awq", "maxModelLen": 8192},
         ("weights 35.3 GB", "smallest tensorParallelSize that fits: 2")),
    Case("nothing-fits", {"parametersB": 2000}, "T4", {"maxModelLen": 8192},
         ("weights 4000.0 GB", "no tensorParallelSize up to 64 fits")),
]
FITS = [
    Case("8b-on-l4", LLAMA_8B, "L4", {"dtype": "bfloat16", "maxModelLen": 8192}),
    Case("70b-tp8-on-l4", LLAMA_70B, "L4", {"dtype": "bfloat16", "tensorParallelSize": 8, "maxModelLen": 8192}),
    Case("405b-tp8-pp2-on-h100", LLAMA_405B, "H100", {"dtype": "bfloat16", "tensorParallelSize": 8, "pipelineParallelSize": 2, "maxModelLen": 8192}),
    Case("estimated-kv-without-max-model-len", {"parametersB": 7}, "A10G", {}),
    Case("declared-gpu-memory", {"parametersB": 13, "gpuMemoryGb": 32}, "", {"dtype": "float16", "maxModelLen": 1024}),
]


def plan_of(case: Case) -> Plan:
    s, e = case.sizing, case.engine
    return Plan(
        parameters_b=s.get("parametersB"), weights_gb=s.get("weightsGb"), gpu_type=case.gpu_type or None, gpu_memory_gb=s.get("gpuMemoryGb"),
        num_layers=s.get("numLayers"), hidden_size=s.get("hiddenSize"), num_attention_heads=s.get("numAttentionHeads"), num_kv_heads=s.get("numKvHeads"),
        dtype=e.get("dtype", "auto"), quantization=e.get("quantization"), tensor_parallel_size=e.get("tensorParallelSize", 1),
        pipeline_parallel_size=e.get("pipelineParallelSize", 1), gpu_memory_utilization=e.get("gpuMemoryUtilization", 0.9), max_model_len=e.get("maxModelLen"),
    )


def kuberay_values(case: Case) -> dict[str, Any]:
    gpus = case.engine.get("tensorParallelSize", 1)
    hosts = case.engine.get("pipelineParallelSize", 1)
    accelerator = {"gpuType": case.gpu_type} if case.gpu_type else {}
    return {
        "models": [{"id": "m", "engine": case.engine, "accelerator": accelerator, "sizing": case.sizing}],
        "workerGroups": [{"groupName": "gpu", "gpus": gpus, "numOfHosts": hosts, "gpuType": case.gpu_type, "minReplicas": 1, "maxReplicas": 1}],
    }


def standalone_values(case: Case) -> dict[str, Any]:
    sizing = {**case.sizing, **({"gpuType": case.gpu_type} if case.gpu_type else {})}
    return {"defaults.engine": case.engine, "defaults.sizing": sizing}


def assert_same_numbers(helm_estimate: dict[str, Any], python: dict[str, Any], where: str) -> None:
    """Helm's sprig float functions round through decimals; equal to 1e-9 relative is the same number."""
    assert set(helm_estimate) == set(python), where
    for key, value in python.items():
        if isinstance(value, float):
            assert math.isclose(helm_estimate[key], value, rel_tol=1e-9, abs_tol=1e-9), f"{where}: {key} helm {helm_estimate[key]} != python {value}"
        else:
            assert helm_estimate[key] == value, f"{where}: {key} helm {helm_estimate[key]} != python {value}"


def kuberay_estimates(rendered: helm.Rendered) -> dict[str, Any]:
    annotations = rendered.one("RayService")["metadata"].get("annotations", {})
    return json.loads(annotations.get(ANNOTATION, "{}"))


def standalone_estimates(rendered: helm.Rendered) -> dict[str, Any]:
    return {
        d["metadata"]["labels"]["llmstack.io/model"]: json.loads(d["metadata"]["annotations"][ANNOTATION])
        for d in rendered.of_kind("Deployment")
        if ANNOTATION in d["metadata"].get("annotations", {})
    }


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def standalone_plans(preset: Path) -> dict[str, Plan]:
    """serve_app.memory plans of a vllm-standalone preset, merged the way the chart merges models over defaults."""
    values = yaml.safe_load(preset.read_text())
    defaults = deep_merge(STANDALONE_DEFAULTS, values.get("defaults", {}))
    plans = {}
    for entry in values.get("models", []):
        m = deep_merge(defaults, entry)
        s, e = m["sizing"], m["engine"]
        plans[entry["name"]] = Plan(
            parameters_b=s["parametersB"] or None, weights_gb=s["weightsGb"] or None, gpu_type=s["gpuType"] or None, gpu_memory_gb=s["gpuMemoryGb"] or None,
            num_layers=s["numLayers"] or None, hidden_size=s["hiddenSize"] or None, num_attention_heads=s["numAttentionHeads"] or None, num_kv_heads=s["numKvHeads"] or None,
            dtype=e["dtype"], quantization=e["quantization"] or None, tensor_parallel_size=e["tensorParallelSize"], pipeline_parallel_size=e["pipelineParallelSize"],
            gpu_memory_utilization=e["gpuMemoryUtilization"], max_model_len=e["maxModelLen"] or None,
        )
    return plans


# --- One computation -----------------------------------------------------------------


def test_both_charts_carry_the_same_sizing_template() -> None:
    kuberay = (helm.CHARTS / KUBERAY / SIZING_TEMPLATE).read_text()
    assert kuberay == (helm.CHARTS / STANDALONE / SIZING_TEMPLATE).read_text(), "edit both copies of _sizing.tpl together"


@pytest.mark.parametrize("preset", helm.presets(KUBERAY), ids=lambda p: p.name)
def test_kuberay_preset_estimates_agree_with_serve_app(preset: Path) -> None:
    rendered = helm.template(KUBERAY, [preset])
    app = AppConfig.model_validate(yaml.safe_load(rendered.one("RayService")["spec"]["serveConfigV2"])["applications"][0]["args"])
    sized = {m.id: estimate(m.sizing_plan()).as_dict() for m in app.models if m.accelerator.kind == "GPU" and (m.sizing.parameters_b or m.sizing.weights_gb)}
    gpu_models = [m.id for m in app.models if m.accelerator.kind == "GPU"]
    assert set(sized) == set(gpu_models), f"{preset.name}: declare sizing for every GPU model"
    helm_estimates = kuberay_estimates(rendered)
    assert set(helm_estimates) == set(sized)
    for model_id, python in sized.items():
        assert_same_numbers(helm_estimates[model_id], python, f"{preset.name} {model_id}")


@pytest.mark.parametrize("preset", helm.presets(STANDALONE), ids=lambda p: p.name)
def test_standalone_preset_estimates_agree_with_serve_app(preset: Path) -> None:
    rendered = helm.template(STANDALONE, [preset])
    plans = standalone_plans(preset)
    helm_estimates = standalone_estimates(rendered)
    if yaml.safe_load(preset.read_text()).get("image", {}).get("variant") == "cpu":
        assert helm_estimates == {}
        return
    assert set(helm_estimates) == set(plans), f"{preset.name}: declare sizing for every GPU model"
    for name, plan in plans.items():
        assert_same_numbers(helm_estimates[name], estimate(plan).as_dict(), f"{preset.name} {name}")


@pytest.mark.parametrize("case", FITS, ids=lambda c: c.id)
def test_fitting_placements_render_with_the_python_estimate(case: Case) -> None:
    python = estimate(plan_of(case)).as_dict()
    assert python["fits"]
    assert_same_numbers(kuberay_estimates(helm.template(KUBERAY, set_json=kuberay_values(case)))["m"], python, f"{KUBERAY} {case.id}")
    standalone = standalone_estimates(helm.template(STANDALONE, set_json=standalone_values(case)))
    assert_same_numbers(next(iter(standalone.values())), python, f"{STANDALONE} {case.id}")


# --- Refusals ------------------------------------------------------------------------


# chart -> (its values for a case, the text before serve_app's message in its error)
REFUSALS = {
    KUBERAY: (kuberay_values, "models[0].sizing: m "),
    STANDALONE: (standalone_values, "models[0] (qwen2-5-0-5b-instruct): sizing: qwen2-5-0-5b-instruct "),
}


@pytest.mark.parametrize("chart", REFUSALS)
@pytest.mark.parametrize("case", MISFITS, ids=lambda c: c.id)
def test_chart_refuses_a_placement_that_cannot_fit_with_its_numbers(chart: str, case: Case) -> None:
    values, prefix = REFUSALS[chart]
    error = helm.template_error(chart, set_json=values(case))
    assert prefix + misfit_message(plan_of(case)) in error
    for text in case.expected:
        assert text in error


@pytest.mark.parametrize("case", MISFITS[:1], ids=lambda c: c.id)
def test_sizing_enforce_false_renders_and_reports_the_misfit(case: Case) -> None:
    kuberay = kuberay_values(case)
    kuberay["models"][0]["sizing"] = {**case.sizing, "enforce": False}
    assert kuberay_estimates(helm.template(KUBERAY, set_json=kuberay))["m"]["fits"] is False
    standalone = standalone_values(case)
    standalone["defaults.sizing"] = {**standalone["defaults.sizing"], "enforce": False}
    assert next(iter(standalone_estimates(helm.template(STANDALONE, set_json=standalone)).values()))["fits"] is False


def test_charts_know_the_memory_of_every_gpu_type_serve_app_knows() -> None:
    names = {gpu: f"gpu-{i}" for i, gpu in enumerate(GPU_MEMORY_GB)}
    models = [{"name": name, "model": "org/m", "sizing": {"parametersB": 1, "gpuType": gpu}} for gpu, name in names.items()]
    estimates = standalone_estimates(helm.template(STANDALONE, set_json={"models": models}))
    assert {gpu: estimates[name]["gpu_memory_gb"] for gpu, name in names.items()} == GPU_MEMORY_GB


def test_unknown_gpu_memory_is_refused_naming_the_field() -> None:
    case = Case("unknown-gpu", {"parametersB": 8}, "TPU-V4", {"maxModelLen": 4096})
    assert "models[0].sizing.gpuMemoryGb: GPU memory unknown" in helm.template_error(KUBERAY, set_json=kuberay_values(case))
    assert "sizing.gpuMemoryGb: GPU memory unknown" in helm.template_error(STANDALONE, set_json=standalone_values(case))


def test_undeclared_models_are_not_sized() -> None:
    assert kuberay_estimates(helm.template(KUBERAY)) == {}
    assert standalone_estimates(helm.template(STANDALONE)) == {}
