"""The local default: the embedded tiny model on the CPU engine.

Used by ``python -m serve_app`` with no arguments and by every test that needs an
engine. The numbers are sized for a 2-core laptop: one replica, a small KV cache,
eager mode (CUDA graphs do not exist on CPU) and float32 (what the CPU kernels support
best for this model).
"""

from __future__ import annotations

from .config import AcceleratorConfig, AppConfig, AutoscalingConfig, EngineConfig, ModelConfig
from .tiny_model import MAX_POSITION_EMBEDDINGS, MODEL_NAME, ensure_model

TINY_MODEL_ID = MODEL_NAME
# 256 MiB of KV cache holds ~16k tokens of the tiny model: plenty for tests and demos.
TINY_KV_CACHE_BYTES = 256 << 20
# The tiny model's engine, one set of numbers for the local default, the serve tier, the
# benchmark and the tests that start vLLM's own server, so their figures compare.
TINY_ENGINE = EngineConfig(
    max_model_len=MAX_POSITION_EMBEDDINGS,
    dtype="float32",
    enforce_eager=True,
    enable_prefix_caching=True,
    max_num_seqs=64,
    kv_cache_memory_bytes=TINY_KV_CACHE_BYTES,
)


def tiny_engine() -> dict:
    """TINY_ENGINE as serve_app's config takes it (the `engine` of a model, snake_case)."""
    return TINY_ENGINE.model_dump(exclude_unset=True)


def tiny_vllm_flags() -> list[str]:
    """TINY_ENGINE as `vllm serve` flags, for vLLM's own server beside serve_app."""
    e = TINY_ENGINE
    flags = ["--dtype", e.dtype, "--max-model-len", str(e.max_model_len), "--kv-cache-memory-bytes", str(e.kv_cache_memory_bytes), "--max-num-seqs", str(e.max_num_seqs)]
    if e.enforce_eager:
        flags.append("--enforce-eager")
    flags.append("--enable-prefix-caching" if e.enable_prefix_caching else "--no-enable-prefix-caching")
    return flags


def tiny_model_config(model_id: str = TINY_MODEL_ID, **overrides) -> ModelConfig:
    fields = dict(
        id=model_id,
        source=str(ensure_model()),
        engine=TINY_ENGINE.model_copy(),
        accelerator=AcceleratorConfig(kind="CPU", cpus_per_worker=1),
        autoscaling=AutoscalingConfig(min_replicas=1, max_replicas=1),
    )
    fields.update(overrides)
    return ModelConfig(**fields)


def local_app_config() -> AppConfig:
    return AppConfig(models=[tiny_model_config()])
