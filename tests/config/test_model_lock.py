"""serve_app.models: a model's files pinned by sha256, and every difference named."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from serve_app.models import ModelLock, load_lock, lock_directory, main, mismatches

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CONFIG = b'{"n_layer": 2}'
WEIGHTS = b"\x00weights" * 1000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def model(tmp_path: Path) -> Path:
    directory = tmp_path / "model"
    (directory / "tokenizer").mkdir(parents=True)
    (directory / "config.json").write_bytes(CONFIG)
    (directory / "model.safetensors").write_bytes(WEIGHTS)
    (directory / "tokenizer" / "vocab.json").write_bytes(b"{}")
    return directory


def test_a_lock_pins_every_file_by_sha256_and_the_same_directory_verifies(model: Path):
    lock = lock_directory(model)
    assert [(f.path, f.sha256) for f in lock.files] == [
        ("config.json", sha(CONFIG)),
        ("model.safetensors", sha(WEIGHTS)),
        ("tokenizer/vocab.json", sha(b"{}")),
    ]
    assert lock.revision == ""
    assert mismatches(model, lock) == []


def test_a_changed_file_is_named_with_both_digests(model: Path):
    lock = lock_directory(model)
    tampered = WEIGHTS.replace(b"s", b"z")
    (model / "model.safetensors").write_bytes(tampered)
    assert mismatches(model, lock) == [f"model.safetensors: sha256 is {sha(tampered)}, the lock says {sha(WEIGHTS)}"]


def test_a_missing_file_and_a_file_not_in_the_lock_are_named(model: Path):
    lock = lock_directory(model)
    (model / "config.json").unlink()
    (model / "extra.safetensors").write_bytes(b"more")
    assert mismatches(model, lock) == [
        f"config.json: missing (the lock says sha256 {sha(CONFIG)})",
        "extra.safetensors: not in the lock (an unverified file the engine may load)",
    ]


def test_hidden_entries_such_as_the_download_cache_are_not_part_of_the_model(model: Path):
    lock = lock_directory(model)
    (model / ".cache" / "huggingface").mkdir(parents=True)
    (model / ".cache" / "huggingface" / "download.lock").write_bytes(b"")
    assert mismatches(model, lock) == []
    assert ".cache" not in {f.path.split("/")[0] for f in lock_directory(model).files}


def test_a_hugging_face_cache_snapshot_is_locked_at_its_commit_through_its_blob_links(tmp_path: Path):
    repo = tmp_path / "hub" / "models--org--tiny"
    (repo / "blobs").mkdir(parents=True)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    blob = repo / "blobs" / sha(b"weights")
    blob.write_bytes(b"weights")
    (snapshot / "model.safetensors").symlink_to(Path("..") / ".." / "blobs" / blob.name)
    lock = lock_directory(snapshot)
    assert lock.revision == COMMIT
    assert [(f.path, f.sha256) for f in lock.files] == [("model.safetensors", sha(b"weights"))]


@pytest.mark.parametrize(
    ("lock", "named"),
    [
        ({"revision": "main", "files": [{"path": "a", "sha256": "0" * 64}]}, "revision"),
        ({"files": [{"path": "a", "sha256": "XYZ"}]}, "files.0.sha256"),
        ({"files": [{"path": "a"}]}, "files.0.sha256"),
        ({"files": [{"path": "../etc/passwd", "sha256": "0" * 64}]}, "files.0.path"),
        ({"files": [{"path": "/abs", "sha256": "0" * 64}]}, "files.0.path"),
        ({"files": [{"path": "a//b", "sha256": "0" * 64}]}, "files.0.path"),
        ({"files": [{"path": "a", "sha256": "0" * 64}, {"path": "a", "sha256": "1" * 64}]}, "files[1].path 'a' is listed twice"),
        ({"files": []}, "files"),
    ],
    ids=["floating-revision", "non-hex-digest", "missing-digest", "parent-path", "absolute-path", "empty-segment", "duplicate-path", "no-file"],
)
def test_a_malformed_lock_is_refused_naming_the_entry(lock: dict, named: str):
    with pytest.raises(ValidationError, match=named.replace("[", r"\[").replace("]", r"\]")):
        ModelLock.model_validate(lock)


def test_the_command_line_writes_a_lock_that_verifies_and_fails_on_a_tampered_file(model: Path, tmp_path: Path, capsys):
    lock_file = tmp_path / "lock.yaml"
    assert main(["lock", str(model), "--revision", COMMIT, "--output", str(lock_file)]) == 0
    assert load_lock(lock_file).revision == COMMIT
    assert main(["verify", str(model), "--lock", str(lock_file)]) == 0
    (model / "tokenizer" / "vocab.json").write_bytes(b"{ }")
    capsys.readouterr()
    assert main(["verify", str(model), "--lock", str(lock_file)]) == 1
    err = capsys.readouterr().err
    assert f"{model}/tokenizer/vocab.json: sha256 is {sha(b'{ }')}, the lock says {sha(b'{}')}" in err


def test_a_served_model_with_a_lock_needs_its_files_local_and_hands_the_lock_to_its_replicas():
    from serve_app.config import ModelConfig
    from serve_app.llm_configs import MODEL_LOCK_CONFIG, to_llm_config

    lock = {"revision": COMMIT, "files": [{"path": "config.json", "sha256": sha(CONFIG)}]}
    with pytest.raises(ValidationError, match="lock: the files must be on the worker before the engine starts"):
        ModelConfig.model_validate({"id": "org/m", "lock": lock})
    model = ModelConfig.model_validate({"id": "m", "source": "/models/m", "lock": lock})
    assert to_llm_config(model)["experimental_configs"][MODEL_LOCK_CONFIG] == lock
