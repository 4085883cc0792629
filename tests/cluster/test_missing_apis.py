"""Installing into a cluster that lacks an optional API fails naming the value that asked for it.

A chart object whose CRD is not installed (a ServiceMonitor without the Prometheus
Operator, a ScaledObject without KEDA) otherwise stops `helm install` at "no matches
for kind", after which the user has to work out which value produced it. The charts ask
the cluster's discovery (what Helm passes to `.Capabilities`) and fail first, with the
value to turn off and what to install. Offline renders (`helm template`) cannot ask and
skip the check: the render tier covers that side.

The API server here serves every CRD the charts use, so the test takes one away for its
duration (the KEDA ScaledObject CRD, which only this chart's autoscaling uses) and puts
it back, established, before the next test.
"""

from __future__ import annotations

from typing import Iterator

import pytest
from kubernetes.client.exceptions import ApiException

from tests.support import helm as offline

from .kube import Kube, wait_for
from .releases import RELEASE

CRD = "scaledobjects.keda.sh"
API = "keda.sh/v1alpha1/ScaledObject"
KEDA_ON = ["--set-json", 'defaults.autoscaling.keda={"enabled":true}']


def established(kube: Kube) -> bool:
    try:
        crd = kube.crds.read_custom_resource_definition(CRD)
    except ApiException as e:
        if e.status == 404:
            return False
        raise
    return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])


@pytest.fixture
def without_scaled_objects(kube: Kube) -> Iterator[None]:
    """The cluster with the ScaledObject CRD deleted; recreated from the same definition afterwards."""
    crd = kube.crds.read_custom_resource_definition(CRD)
    kube.crds.delete_custom_resource_definition(CRD)
    wait_for(f"CRD {CRD} to be gone", lambda: not _exists(kube), 60)
    try:
        yield
    finally:
        crd.metadata = type(crd.metadata)(name=CRD, labels=crd.metadata.labels, annotations=crd.metadata.annotations)
        crd.status = None
        kube.crds.create_custom_resource_definition(crd)
        wait_for(f"CRD {CRD} to be established again", lambda: established(kube), 60)


def _exists(kube: Kube) -> bool:
    try:
        kube.crds.read_custom_resource_definition(CRD)
    except ApiException as e:
        if e.status == 404:
            return False
        raise
    return True


def test_an_install_needing_an_api_the_cluster_lacks_fails_naming_the_value(helm, namespace: str, without_scaled_objects: None):
    result = helm("install", RELEASE, offline.CHARTS / "vllm-standalone", "--namespace", namespace, *KEDA_ON, check=False)
    assert result.returncode != 0, "helm install succeeded without the ScaledObject CRD"
    assert "autoscaling.keda.enabled" in result.stderr and API in result.stderr and "KEDA" in result.stderr, result.stderr
    # Nothing was created: the render failed before Helm sent anything.
    assert helm("list", "--namespace", namespace, "--short").stdout.strip() == ""  # every status, in Helm 4


def test_the_same_values_install_where_the_api_is_served(helm, namespace: str):
    result = helm("install", RELEASE, offline.CHARTS / "vllm-standalone", "--namespace", namespace, *KEDA_ON)
    assert "STATUS: deployed" in result.stdout
