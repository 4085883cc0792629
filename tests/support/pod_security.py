"""The values files allowed to break the restricted Pod Security profile, and why.

Two checks judge the pods every values file renders: the render tier's restricted
profile check (tests/security/test_pod_security.py) and the cluster tier's admission
dry run against a real API server (tests/cluster/test_server_dry_run.py). Both read
this one list, and both fail when a listed file no longer needs its exception, so
the list cannot grow stale or drift between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .helm import CHARTS, PRESETS

# Volume types the restricted profile allows.
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"})


@dataclass(frozen=True)
class PodSecurityException:
    """A values file whose pods use volume types beyond RESTRICTED_VOLUMES, with the reason."""

    chart: str
    values: Path
    volumes: frozenset[str]
    why: str


HOSTPATH_MODEL = "the tiny model pre-staged on a kind/kwok node (hostPath); the preset header shows the PVC replacement for shared clusters"
EXCEPTIONS = (
    PodSecurityException("vllm-standalone", PRESETS / "vllm-standalone" / "cpu-tiny.yaml", frozenset({"hostPath"}), HOSTPATH_MODEL),
    PodSecurityException("vllm-standalone", CHARTS / "vllm-standalone" / "ci" / "01-cpu-tiny-values.yaml", frozenset({"hostPath"}), HOSTPATH_MODEL),
    PodSecurityException(
        "vllm-standalone",
        CHARTS / "vllm-standalone" / "ci" / "07-offline-hostpath-values.yaml",
        frozenset({"hostPath"}),
        "storage.type: hostPath is an explicit opt-in for development clusters (documented in values.yaml); it breaks the restricted profile by design",
    ),
)


def exception_for(chart: str, values: Path | None) -> PodSecurityException | None:
    """The listed exception for ``chart`` rendered with ``values`` (None: the chart's defaults)."""
    return next((e for e in EXCEPTIONS if (e.chart, e.values) == (chart, values)), None)
