"""`helm upgrade` from each chart's last release (ci/chart-releases.yaml) to this tree.

The released chart and its preset are taken from git history at the recorded commit,
installed, then upgraded to the working tree's chart with the working tree's preset:
what a user does when they move their checkout, or Flux its GitRepository tag, to a
new release. Immutable-field changes (a Deployment selector), a value renamed without
a migration, or an object kind helm cannot adopt all fail here.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.support.tools import REPO

from .kube import Kube, bind_pending_claims, wait_deployment_available
from .presets import prepare_cpu_tiny_namespace, prepare_gpu_preset_namespace
from .releases import RELEASE, history, values_args

RELEASES = yaml.safe_load((REPO / "ci" / "chart-releases.yaml").read_text())
AVAILABLE_TIMEOUT_S = 90
HELM_WAIT = ("--wait", "--timeout", f"{AVAILABLE_TIMEOUT_S}s")


def released_tree(commit: str, dest: Path, *paths: str) -> Path:
    """``paths`` as they were at ``commit``, extracted under ``dest``."""
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True).returncode != 0:
        pytest.fail(f"commit {commit} (ci/chart-releases.yaml) is not in this clone; the upgrade tests need the history (git fetch --unshallow)")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit, *paths], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def chart_version(chart_dir: Path) -> str:
    return yaml.safe_load((chart_dir / "Chart.yaml").read_text())["version"]


def prepare(kube: Kube, namespace: str, chart: str) -> list[Path]:
    """What the preset expects to exist in the namespace; returns the user's own overlays."""
    if chart == "vllm-standalone":
        return prepare_cpu_tiny_namespace(kube, namespace)
    if chart == "kuberay-llm":
        prepare_gpu_preset_namespace(kube, namespace)
    return []


@pytest.mark.parametrize("chart", sorted(RELEASES))
def test_upgrade_from_the_last_release_succeeds(helm, kube: Kube, namespace: str, tmp_path: Path, chart: str):
    release = RELEASES[chart]
    old = released_tree(release["commit"], tmp_path, f"charts/{chart}", str(Path(release["preset"]).parent))
    assert chart_version(old / "charts" / chart) == release["version"], "ci/chart-releases.yaml names the wrong commit for this version"
    overlays = prepare(kube, namespace, chart)
    wait = HELM_WAIT if chart == "vllm-standalone" else ()

    helm("install", RELEASE, old / "charts" / chart, "--namespace", namespace, *values_args(old / release["preset"], *overlays), *wait)
    bind_pending_claims(kube, namespace)
    before = {(d.metadata.name, d.metadata.uid) for d in kube.apps.list_namespaced_deployment(namespace).items}
    helm("upgrade", RELEASE, REPO / "charts" / chart, "--namespace", namespace, *values_args(REPO / release["preset"], *overlays), *wait)

    revisions = history(helm, namespace)
    assert [(h["revision"], h["status"]) for h in revisions] == [(1, "superseded"), (2, "deployed")]
    assert revisions[-1]["chart"] == f"{chart}-{chart_version(REPO / 'charts' / chart)}"
    # Deployments are updated in place, never replaced (a changed selector would force that)
    after = {(d.metadata.name, d.metadata.uid) for d in kube.apps.list_namespaced_deployment(namespace).items}
    assert after == before
    for name, _ in after:
        wait_deployment_available(kube, namespace, name, AVAILABLE_TIMEOUT_S)
