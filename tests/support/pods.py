"""Pod specs of every workload a chart renders, including the RayService's.

checkov, the restricted-profile checks and the cluster tier's admission checks look
at pod specs. A RayService carries its head and worker pod templates inside a custom
resource that checkov does not know, so
`ray_pods()` turns them into the Pods KubeRay will create from them (same labels and
spec; KubeRay adds its own labels and, on the head, the autoscaler sidecar, whose
security context the chart sets in `autoscalerOptions` and the tests check there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator


@dataclass(frozen=True)
class PodSpec:
    """A pod spec and where it comes from, e.g. `Deployment/x` or `RayService/x:worker-gpu`."""

    origin: str
    spec: dict[str, Any]
    labels: dict[str, str]

    def containers(self) -> Iterator[dict[str, Any]]:
        yield from self.spec.get("initContainers") or []
        yield from self.spec.get("containers") or []


def _ray_templates(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    cluster = doc["spec"]["rayClusterConfig"]
    yield "head", cluster["headGroupSpec"]["template"]
    for group in cluster.get("workerGroupSpecs") or []:
        yield f"worker-{group['groupName']}", group["template"]


def pod_specs(docs: list[dict[str, Any]]) -> list[PodSpec]:
    """Every pod spec in the rendered objects: Pods, workload templates, Ray groups."""
    out = []
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "Pod":
            out.append(PodSpec(f"Pod/{name}", doc["spec"], doc["metadata"].get("labels") or {}))
        elif kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            template = doc["spec"]["template"]
            out.append(PodSpec(f"{kind}/{name}", template["spec"], template["metadata"].get("labels") or {}))
        elif kind == "RayService":
            for group, template in _ray_templates(doc):
                out.append(PodSpec(f"RayService/{name}:{group}", template["spec"], template["metadata"].get("labels") or {}))
    return out


def ray_pods(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Pods KubeRay creates from each RayService's groups, as manifests checkov can scan."""
    pods = []
    for doc in docs:
        if doc["kind"] != "RayService":
            continue
        for group, template in _ray_templates(doc):
            pods.append({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{doc['metadata']['name']}-{group}",
                    "namespace": doc["metadata"].get("namespace"),
                    "labels": template["metadata"].get("labels") or {},
                },
                "spec": template["spec"],
            })
    return pods
