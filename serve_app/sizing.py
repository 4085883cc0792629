"""Print the GPU memory estimate of a planned deployment (serve_app.memory's numbers).

The same estimate the charts apply at `helm template` time, for planning before
writing values::

    python -m serve_app.sizing --params-b 70 --dtype bfloat16 --gpu-type L4 --tp 1 --max-model-len 8192
    python -m serve_app.sizing --config app.yaml     # every model of an AppConfig (YAML/JSON)

Exit status 1 when some sized model does not fit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .memory import GPU_MEMORY_GB, RESERVE_GB, Plan, estimate, gpu_memory, is_declared, misfit_message


def summary(name: str, plan: Plan) -> str:
    """Human-readable estimate of one plan (the CLI's output)."""
    if not is_declared(plan):
        return f"{name}: not sized (declare parameters_b or weights_gb)"
    if gpu_memory(plan) is None:
        return f"{name}: GPU memory unknown (gpu type {plan.gpu_type!r}; declare gpu_memory_gb)"
    e = estimate(plan)
    lines = [
        f"{name}: {'fits' if e.fits else 'DOES NOT FIT'}",
        f"  GPUs per replica     {e.gpus} (TP {plan.tensor_parallel_size} x PP {plan.pipeline_parallel_size}), {e.gpu_memory_gb:.1f} GB each",
        f"  weights              {e.weights_gb:.1f} GB ({e.parameters_b:.2f}B params x {e.bytes_per_parameter} bytes), {e.weights_per_gpu_gb:.1f} GB per GPU",
        f"  budget per GPU       {e.budget_per_gpu_gb:.1f} GB (gpu_memory_utilization {plan.gpu_memory_utilization:.2f}), {RESERVE_GB:.1f} GB reserve",
        f"  KV cache             {e.kv_cache_gb:.1f} GB per replica, {e.kv_tokens} tokens",
        f"  KV per token         {e.kv_bytes_per_token:.0f} bytes ({'estimated' if e.kv_estimated else 'declared architecture'})",
    ]
    if e.max_sequences is not None:
        lines.append(f"  max concurrent seqs  {e.max_sequences} at max_model_len {e.max_model_len}")
    if not e.fits:
        lines.append(f"  {misfit_message(plan)}")
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m serve_app.sizing", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, help="AppConfig YAML/JSON: size every model in it")
    p.add_argument("--params-b", type=float, help="parameters in billions")
    p.add_argument("--weights-gb", type=float, help="weight size in GB (instead of --params-b)")
    p.add_argument("--gpu-type", help=f"Ray accelerator type ({', '.join(GPU_MEMORY_GB)})")
    p.add_argument("--gpu-memory-gb", type=float, help="GPU memory per device in GB (instead of --gpu-type)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float16", "bfloat16", "float32"])
    p.add_argument("--quantization")
    p.add_argument("--tp", type=int, default=1, help="tensor parallel size")
    p.add_argument("--pp", type=int, default=1, help="pipeline parallel size")
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    p.add_argument("--max-model-len", type=int)
    p.add_argument("--layers", type=int, help="hidden layers (declares the architecture)")
    p.add_argument("--hidden-size", type=int)
    p.add_argument("--attention-heads", type=int)
    p.add_argument("--kv-heads", type=int)
    p.add_argument("--json", action="store_true", help="print the estimate(s) as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.config:
        import yaml

        from .config import AppConfig

        from pydantic import ValidationError

        try:
            app = AppConfig.model_validate(yaml.safe_load(args.config.read_text()))
        except ValidationError as error:
            print(error, file=sys.stderr)
            return 1
        plans = {m.id: m.sizing_plan() for m in app.models}
    else:
        plans = {"model": Plan(
            parameters_b=args.params_b, weights_gb=args.weights_gb, gpu_type=args.gpu_type, gpu_memory_gb=args.gpu_memory_gb,
            num_layers=args.layers, hidden_size=args.hidden_size, num_attention_heads=args.attention_heads, num_kv_heads=args.kv_heads,
            dtype=args.dtype, quantization=args.quantization, tensor_parallel_size=args.tp, pipeline_parallel_size=args.pp,
            gpu_memory_utilization=args.gpu_memory_utilization, max_model_len=args.max_model_len,
        )}
    if args.json:
        out = {name: estimate(p).as_dict() if is_declared(p) and gpu_memory(p) else None for name, p in plans.items()}
        print(json.dumps(out, indent=2))
    else:
        print("\n".join(summary(name, p) for name, p in plans.items()))
    sized = [p for p in plans.values() if is_declared(p) and gpu_memory(p)]
    return 0 if all(estimate(p).fits for p in sized) else 1


if __name__ == "__main__":
    sys.exit(main())
