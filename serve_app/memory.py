"""GPU memory sizing: will a model's placement fit its GPUs, and how many sequences?

A placement that cannot fit (a 70B fp16 model on one 24 GB GPU) otherwise fails on a
GPU node after minutes of downloading weights, with an out-of-memory trace or vLLM's
"no memory for the KV cache". This estimate catches it before anything is scheduled.
The charts compute the very same numbers in Helm (templates/_sizing.tpl of each chart)
and refuse such placements at `helm template` time; a render test runs both over every
preset and compares them.

The model, per GPU of one replica (tensor_parallel_size x pipeline_parallel_size GPUs):

    weights            = declared weights_gb, else parameters_b x bytes per parameter
                         (dtype float32: 4, else 2; quantization fp8: 1, awq/gptq/bitsandbytes: 0.5)
    budget             = GPU memory x gpu_memory_utilization
    free for KV cache  = budget - weights / GPUs - RESERVE_GB (CUDA context, activations, graphs)
    KV bytes per token = 2 (K and V) x layers x kv heads x head size x KV dtype bytes when the
                         architecture is declared, else the conservative
                         ESTIMATED_KV_BYTES_PER_B_PARAMS per billion parameters (at 16-bit KV)
    fits               = free > 0 and the replica's KV cache holds one max_model_len sequence
                         (vLLM refuses to start otherwise)

GB are 10^9 bytes, as model cards and GPU data sheets count them. Tensor parallelism
is assumed to split the KV heads (it replicates them when kv heads < TP; the estimate
then is optimistic for the KV cache).

``python -m serve_app.sizing`` prints these estimates for a planned deployment. The
fractional-GPU rule (how much of one GPU's memory the replicas sharing it may claim)
lives here too, at the end.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

#: Memory per device of the Ray accelerator types (GB). "A100" alone is taken as the
#: 40 GB model (the conservative reading); use A100-80G or declare gpu_memory_gb.
GPU_MEMORY_GB: dict[str, float] = {
    "T4": 16.0,
    "V100": 16.0,
    "L4": 24.0,
    "A10G": 24.0,
    "L40S": 48.0,
    "A100": 40.0,
    "A100-40G": 40.0,
    "A100-80G": 80.0,
    "H100": 80.0,
    "H200": 141.0,
    "B200": 180.0,
    "AMD-Instinct-MI300X-OAM": 192.0,
}
#: Per-GPU memory outside weights and KV cache: CUDA context, activations of one step,
#: CUDA graphs. vLLM profiles it at start; 1 GB covers 7-70B models at default batch sizes.
RESERVE_GB = 1.0
#: KV bytes per token per billion parameters (16-bit KV) when the architecture is not
#: declared. Overestimates grouped-query-attention models (Llama 3 8B: 128 KiB/token
#: real vs 640 KiB estimated) and still covers full multi-head models (Llama 2 7B:
#: 512 KiB real vs 560 KiB); declare the architecture for a tight estimate.
ESTIMATED_KV_BYTES_PER_B_PARAMS = 81920
#: Bytes per weight of the quantization methods whose size is known; others use the dtype.
QUANTIZED_BYTES = {"fp8": 1.0, "fbgemm_fp8": 1.0, "awq": 0.5, "awq_marlin": 0.5, "gptq": 0.5, "gptq_marlin": 0.5, "bitsandbytes": 0.5}
#: Tensor parallel sizes tried when suggesting the smallest one that fits.
TP_CANDIDATES = (1, 2, 4, 8, 16, 32, 64)
GB = 1e9


@dataclass(frozen=True)
class Plan:
    """What is known about one model replica's placement (unknown numbers are None/0)."""

    parameters_b: float | None = None
    weights_gb: float | None = None
    gpu_type: str | None = None
    gpu_memory_gb: float | None = None
    num_layers: int | None = None
    hidden_size: int | None = None
    num_attention_heads: int | None = None
    num_kv_heads: int | None = None
    dtype: str = "auto"
    quantization: str | None = None
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None


@dataclass(frozen=True)
class Estimate:
    """The sizing numbers of one plan, as both the CLI and the charts report them."""

    gpus: int
    bytes_per_parameter: float
    parameters_b: float
    weights_gb: float
    weights_per_gpu_gb: float
    gpu_memory_gb: float
    budget_per_gpu_gb: float
    kv_free_per_gpu_gb: float
    kv_cache_gb: float
    kv_bytes_per_token: float
    kv_estimated: bool
    max_model_len: int
    sequence_gb: float
    kv_tokens: int
    max_sequences: int | None
    fits: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bytes_per_parameter(dtype: str, quantization: str | None) -> float:
    if quantization and quantization in QUANTIZED_BYTES:
        return QUANTIZED_BYTES[quantization]
    return 4.0 if dtype == "float32" else 2.0


def kv_dtype_bytes(dtype: str) -> float:
    return 4.0 if dtype == "float32" else 2.0


def gpu_memory(plan: Plan) -> float | None:
    """Declared GPU memory, else the accelerator type's, else unknown."""
    if plan.gpu_memory_gb:
        return plan.gpu_memory_gb
    return GPU_MEMORY_GB.get(plan.gpu_type or "")


def is_declared(plan: Plan) -> bool:
    """Sizing applies only once the model's size is declared (parameters or weights)."""
    return bool(plan.parameters_b or plan.weights_gb)


def kv_bytes_per_token(plan: Plan, parameters_b: float) -> tuple[float, bool]:
    """(bytes per token of the whole model, estimated?)."""
    kv = kv_dtype_bytes(plan.dtype)
    if plan.num_layers and plan.hidden_size and plan.num_attention_heads:
        kv_heads = plan.num_kv_heads or plan.num_attention_heads
        head_size = plan.hidden_size / plan.num_attention_heads
        return 2 * plan.num_layers * kv_heads * head_size * kv, False
    return parameters_b * ESTIMATED_KV_BYTES_PER_B_PARAMS * kv / 2, True


def estimate(plan: Plan) -> Estimate:
    """The sizing of a declared plan with a known GPU memory (see is_declared, gpu_memory)."""
    memory = gpu_memory(plan)
    if not is_declared(plan) or memory is None:
        raise ValueError("sizing needs parameters_b or weights_gb, and a known GPU type or gpu_memory_gb")
    gpus = plan.tensor_parallel_size * plan.pipeline_parallel_size
    bpp = bytes_per_parameter(plan.dtype, plan.quantization)
    weights = plan.weights_gb or plan.parameters_b * bpp
    params = plan.parameters_b or weights / bpp
    per_gpu = weights / gpus
    budget = memory * plan.gpu_memory_utilization
    free = budget - per_gpu - RESERVE_GB
    cache = free * gpus if free > 0 else 0.0
    kvpt, estimated = kv_bytes_per_token(plan, params)
    mml = plan.max_model_len or 0
    sequence = mml * kvpt / GB
    tokens = math.floor(cache * GB / kvpt)
    max_seqs = math.floor(cache / sequence) if mml else None
    fits = free > 0 and cache >= sequence
    return Estimate(gpus, bpp, params, weights, per_gpu, memory, budget, free, cache, kvpt, estimated, mml, sequence, tokens, max_seqs, fits)


def smallest_fitting_tp(plan: Plan) -> int | None:
    """The smallest tensor parallel size (same pipeline parallel size) that fits, or None."""
    for tp in TP_CANDIDATES:
        if estimate(_with(plan, tensor_parallel_size=tp)).fits:
            return tp
    return None


def _with(plan: Plan, **changes: Any) -> Plan:
    return Plan(**{**asdict(plan), **changes})


def misfit_message(plan: Plan) -> str:
    """Why a plan does not fit, with its numbers and the smallest tensor parallel size that would.

    The charts print the same text (after the field path), character for character.
    """
    e = estimate(plan)
    kv_source = "estimated" if e.kv_estimated else "declared architecture"
    tp = smallest_fitting_tp(plan)
    hint = (
        f"smallest tensorParallelSize that fits: {tp}"
        if tp
        else f"no tensorParallelSize up to {TP_CANDIDATES[-1]} fits (quantize, shorten maxModelLen or use larger GPUs)"
    )
    gpu = plan.gpu_type or "declared"
    return (
        f"does not fit: weights {e.weights_gb:.1f} GB / {e.gpus} GPU(s) = {e.weights_per_gpu_gb:.1f} GB per GPU; "
        f"{gpu} GPU {e.gpu_memory_gb:.1f} GB x gpuMemoryUtilization {plan.gpu_memory_utilization:.2f} = {e.budget_per_gpu_gb:.1f} GB, "
        f"minus {RESERVE_GB:.1f} GB reserve leaves {e.kv_free_per_gpu_gb:.1f} GB per GPU for the KV cache; "
        f"one {e.max_model_len}-token sequence needs {e.sequence_gb:.2f} GB ({e.kv_bytes_per_token:.0f} bytes/token, {kv_source}); "
        f"{hint}; or set sizing.enforce: false"
    )




# --- Fractional GPUs ------------------------------------------------------------------

#: Most of one GPU's memory that the vLLM engines sharing it may claim together (their
#: gpu_memory_utilization summed): each engine process adds its own CUDA context and
#: non-torch allocations outside that fraction.
MAX_SHARED_GPU_UTILIZATION = 0.9
_EPSILON = 1e-9


@dataclass(frozen=True)
class Share:
    """One model's replicas as fractional GPU tenants (only models with gpu_fraction < 1)."""

    id: str
    gpu_type: str | None
    gpu_fraction: float
    gpu_memory_utilization: float
    max_replicas: int


def one_gpu_packing(share: Share, others: list[Share]) -> list[Share]:
    """Replicas Ray may place on the GPU holding one replica of `share`: its own further
    replicas first, then the other fractional models of its GPU type (list order), each
    up to max_replicas, while their fractions fit one GPU. Deterministic, so the charts
    name the same replicas."""
    packing: list[Share] = []
    total = 0.0
    for candidate in [share, *(o for o in others if o.id != share.id and _same_pool(o, share))]:
        for _ in range(candidate.max_replicas):
            if total + candidate.gpu_fraction <= 1.0 + _EPSILON:
                packing.append(candidate)
                total += candidate.gpu_fraction
    return packing


def _same_pool(a: Share, b: Share) -> bool:
    return not a.gpu_type or not b.gpu_type or a.gpu_type == b.gpu_type


def overcommit_message(share: Share, shares: list[Share]) -> str | None:
    """Why replicas sharing a GPU with `share` would claim too much of its memory, or None."""
    packing = one_gpu_packing(share, shares)
    used = sum(s.gpu_memory_utilization for s in packing)
    if used <= MAX_SHARED_GPU_UTILIZATION + _EPSILON:
        return None
    counts: dict[str, int] = {}
    for s in packing:
        counts[s.id] = counts.get(s.id, 0) + 1
    tenants = " + ".join(f"{n} x {i}" for i, n in counts.items())
    fractions = sum(s.gpu_fraction for s in packing)
    return (
        f"one GPU can hold {tenants} (gpuFraction {fractions:.2f} in all), whose gpuMemoryUtilization sums to "
        f"{used:.2f} > {MAX_SHARED_GPU_UTILIZATION:.2f}; keep each model's gpuMemoryUtilization at most "
        f"{MAX_SHARED_GPU_UTILIZATION:.2f} x its gpuFraction"
    )
