"""The embedded tiny model: a random-weight Llama with a locally trained tokenizer.

No model hub is reachable from CI or from an air-gapped laptop, yet every test that
needs an engine must run the real vLLM path. This module builds, deterministically and
in seconds, a ~1.5 MB Llama (2 layers, hidden 128, head size 32, which vLLM's CPU
attention supports) with a 512-token byte-level BPE tokenizer and a chat template. Its
output is gibberish; everything around it (tokenization, scheduling, KV cache, sampling,
streaming, metrics) is real.

The model is cached under ``$LLMSTACK_CACHE/models/`` keyed by a fingerprint of the
recipe below, so a change to the recipe builds a new directory instead of reusing a
stale one.

    python -m serve_app.tiny_model                 # prints the model directory, building it once
    python -m serve_app.tiny_model --output DIR    # builds it into DIR (e.g. in an image build)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

MODEL_NAME = "tiny-llama"
SEED = 1234
VOCAB_SIZE = 512
MAX_POSITION_EMBEDDINGS = 2048

LLAMA_CONFIG = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": MAX_POSITION_EMBEDDINGS,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
}

SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}

# A chat template in the common "role header" style; it ends with the assistant header
# when add_generation_prompt is set, as OpenAI-compatible servers expect.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

# Training text for the tokenizer: our own words, so the vocabulary covers ordinary
# English, code-ish punctuation and the chat role markers.
CORPUS = """
The serving stack runs large language models on Kubernetes. A client sends a request
to the ingress, the router picks a replica, and the engine streams tokens back.
Continuous batching keeps the accelerator busy: new requests join the running batch
at every step instead of waiting for the slowest sequence to finish.
PagedAttention stores the key and value cache in fixed-size blocks, so memory is
allocated on demand and shared between sequences that start with the same prefix.
Tensor parallelism splits each layer across devices; pipeline parallelism splits the
layers into stages. Autoscaling adds replicas when queues grow and removes them when
traffic falls. Health checks, metrics and alerts tell operators what is happening.
user system assistant tool: {"model": "tiny", "messages": [], "max_tokens": 16}
def handler(request): return {"id": 1, "object": "chat.completion", "choices": []}
0 1 2 3 4 5 6 7 8 9 10 100 1000 - + * / = < > ( ) [ ] { } , . ; : ? ! ' " # % & _ |
Hello! How are you today? Tell me a story about a cluster of machines that learned to
share their work fairly, and a scheduler that never forgot a single request.
"""


def fingerprint() -> str:
    """A short hash of everything that determines the model's bytes."""
    recipe = json.dumps(
        {
            "seed": SEED,
            "vocab": VOCAB_SIZE,
            "config": LLAMA_CONFIG,
            "special": SPECIAL_TOKENS,
            "template": CHAT_TEMPLATE,
            "corpus": CORPUS,
        },
        sort_keys=True,
    )
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def cache_root() -> Path:
    base = os.environ.get("LLMSTACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llmstack"
    )
    return Path(base) / "models"


def default_model_dir() -> Path:
    return cache_root() / f"{MODEL_NAME}-{fingerprint()}"


def build(target: Path) -> None:
    """Write the tokenizer, config and seeded random weights to ``target``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([CORPUS] * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, model_max_length=MAX_POSITION_EMBEDDINGS, **SPECIAL_TOKENS
    )
    fast.chat_template = CHAT_TEMPLATE

    vocab = fast.vocab
    config = LlamaConfig(
        vocab_size=len(vocab),
        bos_token_id=vocab[SPECIAL_TOKENS["bos_token"]],
        eos_token_id=vocab[SPECIAL_TOKENS["eos_token"]],
        pad_token_id=vocab[SPECIAL_TOKENS["pad_token"]],
        **LLAMA_CONFIG,
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.generation_config.max_length = MAX_POSITION_EMBEDDINGS
    model.save_pretrained(target, safe_serialization=True)
    fast.save_pretrained(target)


def ensure_model(target: Path | None = None) -> Path:
    """Return the tiny model's directory, building it first if it is not cached.

    Built into a temporary sibling and renamed, so a crash or a concurrent builder
    never leaves a half-written model that later runs would trust.
    """
    target = Path(target) if target else default_model_dir()
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        build(tmp)
        tmp.chmod(0o755)  # readable by the (non-root) serving user when mounted into a pod
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m serve_app.tiny_model")
    parser.add_argument("--output", type=Path, help="directory to build into (default: the per-user cache)")
    print(ensure_model(parser.parse_args().output))
