"""serve_app's side of the GPU memory guard: the config refuses a placement that cannot
fit (naming the field and the numbers), and `python -m serve_app.sizing` prints the
estimate a planner needs."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from serve_app.config import AppConfig, ModelConfig
from serve_app.memory import Plan, estimate, smallest_fitting_tp
from tests.support.tools import REPO

LLAMA_8B = {"parameters_b": 8.03, "num_layers": 32, "hidden_size": 4096, "num_attention_heads": 32, "num_kv_heads": 8}


def gpu_model(gpu_type: str = "L4", **engine) -> dict:
    return {"id": "m", "engine": {"dtype": "bfloat16", **engine}, "accelerator": {"gpu_type": gpu_type}, "sizing": LLAMA_8B}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "serve_app.sizing", *args], capture_output=True, text=True, cwd=REPO)


def test_config_refuses_a_placement_that_cannot_fit_with_its_numbers() -> None:
    with pytest.raises(ValidationError) as info:
        ModelConfig.model_validate(gpu_model("T4", max_model_len=4096))
    message = str(info.value)
    assert "sizing: m does not fit: weights 16.1 GB" in message
    assert "smallest tensorParallelSize that fits: 2" in message


def test_enforce_false_accepts_the_placement() -> None:
    ModelConfig.model_validate({**gpu_model("T4", max_model_len=4096), "sizing": {**LLAMA_8B, "enforce": False}})


def test_unknown_gpu_type_needs_declared_memory() -> None:
    with pytest.raises(ValidationError, match="sizing.gpu_memory_gb"):
        ModelConfig.model_validate(gpu_model("TPU-V4"))
    ModelConfig.model_validate({**gpu_model("TPU-V4"), "sizing": {**LLAMA_8B, "gpu_memory_gb": 32}})


def test_cpu_and_undeclared_models_are_not_sized() -> None:
    AppConfig.model_validate({"models": [{"id": "cpu", "accelerator": {"kind": "CPU"}, "sizing": {"parameters_b": 500}}, {"id": "plain"}]})


def test_llama_8b_on_one_l4_holds_four_8k_sequences() -> None:
    e = estimate(Plan(parameters_b=8.03, num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8, gpu_type="L4", max_model_len=8192))
    assert e.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2
    assert (round(e.weights_gb, 2), round(e.kv_cache_gb, 2), e.max_sequences, e.fits) == (16.06, 4.54, 4, True)


def test_more_tensor_parallelism_never_fits_worse() -> None:
    plan = Plan(parameters_b=70, gpu_type="L4", max_model_len=8192)
    fits = [estimate(Plan(**{**plan.__dict__, "tensor_parallel_size": tp})).fits for tp in (1, 2, 4, 8, 16, 32, 64)]
    assert fits == sorted(fits)
    assert smallest_fitting_tp(plan) == 16


def test_cli_prints_weights_kv_per_token_and_sequences() -> None:
    proc = cli("--params-b", "8.03", "--gpu-type", "L4", "--dtype", "bfloat16", "--max-model-len", "8192",
               "--layers", "32", "--hidden-size", "4096", "--attention-heads", "32", "--kv-heads", "8")
    assert proc.returncode == 0, proc.stderr
    for text in ("fits", "16.1 GB", "131072 bytes", "max concurrent seqs  4 at max_model_len 8192"):
        assert text in proc.stdout
    assert proc.stderr == ""


def test_cli_exits_1_and_suggests_a_tensor_parallel_size_when_it_does_not_fit() -> None:
    proc = cli("--params-b", "70", "--gpu-type", "L4", "--dtype", "float16", "--max-model-len", "8192")
    assert proc.returncode == 1
    assert "DOES NOT FIT" in proc.stdout and "smallest tensorParallelSize that fits: 16" in proc.stdout


def test_cli_sizes_every_model_of_a_config_file(tmp_path) -> None:
    config = tmp_path / "app.yaml"
    config.write_text('{"models": [{"id": "a", "accelerator": {"gpu_type": "L4"}, "engine": {"max_model_len": 4096}, "sizing": {"parameters_b": 8.03}}, {"id": "b"}]}')
    proc = cli("--config", str(config), "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"a": {' in proc.stdout and '"b": null' in proc.stdout


def test_cli_reports_a_config_that_does_not_fit_without_a_traceback(tmp_path) -> None:
    config = tmp_path / "app.yaml"
    config.write_text('{"models": [{"id": "a", "accelerator": {"gpu_type": "L4"}, "engine": {"max_model_len": 8192}, "sizing": {"parameters_b": 70}}]}')
    proc = cli("--config", str(config))
    assert proc.returncode == 1
    assert "sizing: a does not fit" in proc.stderr and "Traceback" not in proc.stderr
