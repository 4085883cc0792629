"""What every system in the benchmark shares: engine settings and the load profile."""

from __future__ import annotations

from dataclasses import dataclass

from serve_app.defaults import tiny_engine

MODEL_ID = "tiny-llama"

# One set of vLLM engine arguments (serve_app's tiny engine), rendered into each system's own config format.
ENGINE = tiny_engine()

# Logical CPUs each local Ray node advertises (the engine bundle, the ingress and
# Serve's own actors must fit on a 2-core machine); the same as serve_app's default.
RAY_NUM_CPUS = 8

SYSTEMS = ("serve_app", "vllm", "peer", "naive")
# Systems only --variant may start (the investigation's serve_app ablations).
VARIANT_BASES = SYSTEMS + ("ablation",)
CONCURRENCY = (1, 8, 32, 64)
CROSSCHECK_CONCURRENCY = 8
PLOT_CONCURRENCY = 32


@dataclass(frozen=True)
class LoadProfile:
    """The request every system gets: a fixed-length prompt, a fixed output length."""

    kind: str = "completion"
    prompt_words: int = 96
    max_tokens: int = 64
    level_s: int = 30
    warmup_s: int = 10
    warmup_users: int = 8
    settle_s: float = 3.0
    crosscheck_rounds: int = 3

    @classmethod
    def full(cls) -> "LoadProfile":
        return cls()

    @classmethod
    def quick(cls) -> "LoadProfile":
        return cls(level_s=8, warmup_s=4, settle_s=1.0, crosscheck_rounds=1)
