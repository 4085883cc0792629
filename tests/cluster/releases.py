"""Helm release helpers shared by the cluster tier's chart tests.

What every chart test needs around `helm install`: the pinned helm pointed at the
cluster, values arguments, the release's history, the objects its manifest names, and
a wait until they are all gone. Shared by the cluster and pods tiers.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml
from kubernetes import client, dynamic
from kubernetes.client.exceptions import ApiException

from tests.support.tools import tool

from .kube import Kube, wait_for

RELEASE = "llm"
GONE_TIMEOUT_S = 60
HELM_TIMEOUT_S = 180


@dataclass(frozen=True)
class Helm:
    """The pinned helm, pointed at the cluster under test, with a private helm home."""

    kubeconfig: Path
    home: Path

    def __call__(self, *args: str | Path, check: bool = True, timeout: float = HELM_TIMEOUT_S) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        cmd = [tool("helm"), *map(str, args), "--kubeconfig", str(self.kubeconfig)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            shown = " ".join(map(str, args))
            raise AssertionError(f"`helm {shown}` failed (exit {proc.returncode}):\n{proc.stderr}")
        return proc


def values_args(*files: Path) -> list[str]:
    return [arg for f in files for arg in ("--values", str(f))]


def history(helm, namespace: str, release: str = RELEASE) -> list[dict]:
    return json.loads(helm("history", release, "--namespace", namespace, "--output", "json").stdout)


def manifest_objects(helm, namespace: str, release: str = RELEASE) -> list[tuple[str, str, str]]:
    """(apiVersion, kind, name) of every object the release's manifest holds."""
    manifest = helm("get", "manifest", release, "--namespace", namespace).stdout
    return [(d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(manifest) if d]


def create_secret(kube: Kube, namespace: str, name: str, key: str, value: str) -> None:
    """A Secret a preset expects to exist (tokens are never the chart's to create)."""
    kube.core.create_namespaced_secret(namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={key: value}))


def wait_release_gone(kube: Kube, namespace: str, installed: list[tuple[str, str, str]], release: str = RELEASE) -> None:
    """Wait until every object of ``installed``, the release's pods and its helm records are deleted."""
    resources = dynamic.DynamicClient(kube.api).resources

    def exists(api_version: str, kind: str, name: str) -> bool:
        try:
            resources.get(api_version=api_version, kind=kind).get(name=name, namespace=namespace)
            return True
        except ApiException as e:
            if e.status == 404:
                return False
            raise

    instance = f"app.kubernetes.io/instance={release}"

    def leftovers() -> list[str]:
        left = [f"{kind}/{name}" for api_version, kind, name in installed if exists(api_version, kind, name)]
        left += [f"Pod/{p.metadata.name}" for p in kube.core.list_namespaced_pod(namespace, label_selector=instance).items]
        left += [f"ReplicaSet/{r.metadata.name}" for r in kube.apps.list_namespaced_replica_set(namespace, label_selector=instance).items]
        left += [f"Secret/{s.metadata.name}" for s in kube.core.list_namespaced_secret(namespace, label_selector=f"owner=helm,name={release}").items]
        return left

    wait_for("every object of the release to be deleted", lambda: not leftovers(), GONE_TIMEOUT_S, lambda: f"left: {leftovers()}")
