"""Which values carry credentials, per chart, and how the tests recognise them."""

from __future__ import annotations

import re
from typing import Any, Iterator

# values key (dotted) -> sentinel, per chart: every key that carries a credential.
SENTINELS = {
    "kuberay-llm": {
        "auth.apiKey": "sentinel-api-key-7f3a9c",
        "huggingface.token.value": "sentinel-hf-token-2b8e41",
    },
    "vllm-standalone": {
        "apiKey.value": "sentinel-api-key-d04c7e",
        "huggingface.token.value": "sentinel-hf-token-91f2aa",
        "s3.credentials.accessKeyId": "sentinel-s3-key-id-5c61",
        "s3.credentials.secretAccessKey": "sentinel-s3-secret-e8d2",
    },
    "observability": {},
}
# Leaf keys of a values file that look like credentials (apiKeyEnv, secretKey, ... are names).
CREDENTIAL_KEY = re.compile(r"(?i)(^|\.)(apikey(\.value)?|token\.value|accesskeyid|secretaccesskey|password)$")


def leaves(node: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every leaf of a values tree."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaves(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip(".")


def credential_keys(values: dict) -> set[str]:
    return {k for k in leaves(values) if CREDENTIAL_KEY.search(k)}
