"""The prompts the harness sends, in one place so other clients can send the same ones.

Words drawn at random from a small vocabulary: every prompt differs from the first
few words on, so an engine's prefix cache cannot serve one request from another's
blocks. The benchmark's cross-check hands vLLM's own client a fresh file of these
(vLLM's "random" dataset builds prompts from runs of consecutive token ids, which on a
tiny vocabulary share whole prefixes: 61-81% of its prompt tokens were cache hits).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = (
    "cluster scheduler token replica engine batch cache prefix model request stream "
    "latency throughput queue router node memory kernel tensor pipeline gateway"
).split()


def word_prompt(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def write_jsonl(path: Path, count: int, words: int, rng: random.Random | None = None) -> Path:
    """``count`` prompts as JSON lines ``{"prompt": ...}`` (vLLM's "custom" dataset format)."""
    rng = rng or random.Random()
    path.write_text("".join(json.dumps({"prompt": word_prompt(rng, words)}) + "\n" for _ in range(count)))
    return path
