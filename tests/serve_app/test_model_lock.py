"""A served model pinned by a lock: each replica checks its files before its engine starts.

Real Ray Serve and the real vLLM engine; the shared app of the serve tier (conftest)
carries the true lock of the tiny model, so every other test here serves a verified
model. This one forges the digest of one file and starts an app of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from serve_app.models import lock_directory
from tests.support import serving

WEIGHTS = "model.safetensors"
FORGED = "0" * 64


def test_a_model_whose_files_differ_from_its_lock_never_starts_an_engine_and_the_failure_names_the_file(tmp_path: Path):
    model_dir = serving.model_dir()
    true_digest = next(f.sha256 for f in lock_directory(Path(model_dir)).files if f.path == WEIGHTS)
    config = serving.app_config(model_dir)
    model = config["models"][0]
    forged = {**model["lock"], "files": [{**f, "sha256": FORGED} if f["path"] == WEIGHTS else f for f in model["lock"]["files"]]}
    with pytest.raises(RuntimeError, match="serve_app exited"):
        serving.stop(serving.start(tmp_path, {**config, "models": [{**model, "lock": forged}]}))
    log = (tmp_path / "serve_app.log").read_text(errors="replace")
    assert f"model lock: {model_dir}/{WEIGHTS}: sha256 is {true_digest}, the lock says {FORGED}" in log
    assert "Initializing a V1 LLM engine" not in log
