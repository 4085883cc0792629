"""Chart versions move forward: a chart changed since its last release has a newer version.

ci/chart-releases.yaml records each chart's last release and its commit (the cluster
tier upgrades from it). A change to a chart after that commit must come with a higher
`version` in Chart.yaml, so users and Flux see an upgrade instead of two different
charts under one version.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml
from packaging.version import Version

from tests.support.tools import REPO

RELEASES = yaml.safe_load((REPO / "ci" / "chart-releases.yaml").read_text())
CHARTS = sorted(p.parent.name for p in (REPO / "charts").glob("*/Chart.yaml"))


def current_version(chart: str) -> Version:
    return Version(yaml.safe_load((REPO / "charts" / chart / "Chart.yaml").read_text())["version"])


def test_every_chart_has_a_recorded_release():
    assert sorted(RELEASES) == CHARTS


@pytest.mark.parametrize("chart", CHARTS)
def test_chart_version_is_not_behind_its_last_release(chart: str):
    assert current_version(chart) >= Version(RELEASES[chart]["version"])


@pytest.mark.parametrize("chart", CHARTS)
def test_a_chart_changed_since_its_release_has_a_newer_version(chart: str):
    release = RELEASES[chart]
    diff = subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", release["commit"], "--", f"charts/{chart}"], capture_output=True)
    assert diff.returncode in (0, 1), f"git diff against {release['commit']} failed (is the history there?): {diff.stderr.decode()}"
    if diff.returncode == 1:
        assert current_version(chart) > Version(release["version"]), (
            f"charts/{chart} changed since its {release['version']} release: bump `version` in charts/{chart}/Chart.yaml"
        )
