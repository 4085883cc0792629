"""vllm-standalone's model locks: the pod checks the files `vllm serve` loads before the engine starts.

The verify script (charts/vllm-standalone/files/verify-model-lock.sh) runs here with
the same POSIX shell and coreutils the engine image has, against a real directory, and
must say exactly what `python -m serve_app.models verify` says.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from serve_app.models import lock_directory, mismatches
from tests.support import helm

CHART = "vllm-standalone"
FULLNAME = "test-vllm-standalone"
SCRIPT = helm.CHARTS / CHART / "files" / "verify-model-lock.sh"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
LOCK = {"revision": COMMIT, "files": [{"path": "config.json", "sha256": "a" * 64}, {"path": "model.safetensors", "sha256": "b" * 64}]}
DOWNLOADED = {"name": "m", "model": "org/m", "download": {"enabled": True}, "lock": LOCK}


def render(**entry: Any) -> helm.Rendered:
    return helm.template(CHART, set_json={"models": [entry]})


def pod_spec(rendered: helm.Rendered) -> dict:
    return rendered.one("Deployment", f"{FULLNAME}-m")["spec"]["template"]["spec"]


def container(spec: dict, name: str) -> dict:
    (found,) = [c for c in spec.get("initContainers", []) if c["name"] == name]
    return found


def test_the_lock_becomes_sha256sum_lines_beside_the_verify_script():
    data = render(**DOWNLOADED).one("ConfigMap", f"{FULLNAME}-m-model-lock")["data"]
    assert data["lock.sha256"] == f"{'a' * 64}  config.json\n{'b' * 64}  model.safetensors\n"
    assert data["verify.sh"] == SCRIPT.read_text()


def test_the_files_are_verified_after_the_download_and_before_the_engine():
    spec = pod_spec(render(**DOWNLOADED))
    assert [c["name"] for c in spec["initContainers"]] == ["model-download", "model-verify"]
    verify = container(spec, "model-verify")
    assert verify["command"] == ["/bin/sh", "/etc/llmstack/model-lock/verify.sh"]
    assert verify["args"] == ["/models/m", "/etc/llmstack/model-lock/lock.sha256"]
    assert verify["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert {"name": "model", "mountPath": "/models", "readOnly": True} in verify["volumeMounts"]
    assert {"name": "model-lock", "configMap": {"name": f"{FULLNAME}-m-model-lock"}} in spec["volumes"]


def test_a_local_model_path_is_verified_where_the_engine_reads_it():
    spec = pod_spec(render(name="m", model="/models/tiny", lock=LOCK))
    assert [c["name"] for c in spec["initContainers"]] == ["model-verify"]
    assert container(spec, "model-verify")["args"][0] == "/models/tiny"


def test_the_download_fetches_the_locked_revision():
    args = container(pod_spec(render(**DOWNLOADED)), "model-download")["args"]
    assert args[args.index("--revision") + 1] == COMMIT


def test_a_changed_lock_rolls_the_pods():
    def annotation(lock: dict) -> str:
        return render(**{**DOWNLOADED, "lock": lock}).one("Deployment", f"{FULLNAME}-m")["spec"]["template"]["metadata"]["annotations"]["llmstack.io/model-lock"]

    changed = {**LOCK, "files": [{"path": "config.json", "sha256": "c" * 64}]}
    assert annotation(LOCK) != annotation(changed)


def test_without_a_lock_there_is_no_verification():
    rendered = render(name="m", model="org/m")
    assert "initContainers" not in pod_spec(rendered)
    assert "ConfigMap" not in rendered.kinds()


# ------------------------------------------------------------ the verify script itself

@pytest.fixture
def model(tmp_path: Path) -> Path:
    directory = tmp_path / "tiny"
    (directory / "tokenizer").mkdir(parents=True)
    (directory / "config.json").write_text('{"layers": 2}')
    (directory / "model.safetensors").write_bytes(b"\x01" * 4096)
    (directory / "tokenizer" / "tokenizer.json").write_text("{}")
    return directory


def verify(directory: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """The chart's script on ``directory`` against the lock taken before the test changed it."""
    return subprocess.run(["/bin/sh", str(SCRIPT), str(directory), str(tmp_path / "lock.sha256")], capture_output=True, text=True)


def write_lock(directory: Path, tmp_path: Path):
    lock = lock_directory(directory)
    (tmp_path / "lock.sha256").write_text("".join(f"{f.sha256}  {f.path}\n" for f in lock.files))
    return lock


def test_the_script_accepts_the_directory_it_was_locked_from(model: Path, tmp_path: Path):
    write_lock(model, tmp_path)
    (model / ".cache").mkdir()
    (model / ".cache" / "download.lock").write_text("")
    result = verify(model, tmp_path)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, f"model lock: {model} matches the lock (3 files)", "")


def test_the_script_names_each_difference_as_serve_app_does(model: Path, tmp_path: Path):
    lock = write_lock(model, tmp_path)
    tampered = b"\x02" * 4096
    (model / "model.safetensors").write_bytes(tampered)
    (model / "config.json").unlink()
    (model / "extra.safetensors").write_bytes(b"unlocked")
    result = verify(model, tmp_path)
    assert result.returncode == 1
    assert sorted(result.stderr.splitlines()) == sorted(f"model lock: {model}/{line}" for line in mismatches(model, lock))
    assert f"model.safetensors: sha256 is {hashlib.sha256(tampered).hexdigest()}" in result.stderr
