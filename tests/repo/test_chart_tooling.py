"""Every chart passes chart-testing's lint, and its README is what helm-docs generates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tools import REPO, tool, tool_home

CHARTS = sorted(p.parent for p in (REPO / "charts").glob("*/Chart.yaml"))


def tool_env() -> dict[str, str]:
    """ct calls helm, yamllint and yamale by name: put the pinned ones first on PATH."""
    dirs = [str(Path(tool(t)).parent) for t in ("helm", "ct", "helm-docs")] + [str(Path(sys.executable).parent)]
    return {**os.environ, "PATH": os.pathsep.join(dirs + [os.environ.get("PATH", "")])}


def test_every_designed_chart_exists():
    assert {c.name for c in CHARTS} == {"kuberay-llm", "vllm-standalone", "observability"}


@pytest.mark.parametrize("chart", CHARTS, ids=lambda p: p.name)
def test_ct_lint_passes(chart: Path):
    etc = tool_home("ct") / "etc"
    proc = subprocess.run(
        [tool("ct"), "lint", "--config", str(REPO / "ct.yaml"), "--charts", str(chart.relative_to(REPO)),
         "--lint-conf", str(etc / "lintconf.yaml"), "--chart-yaml-schema", str(etc / "chart_schema.yaml")],
        cwd=REPO, env=tool_env(), capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "All charts linted successfully" in proc.stdout


@pytest.mark.parametrize("chart", CHARTS, ids=lambda p: p.name)
def test_readme_is_generated_from_values(chart: Path, tmp_path: Path):
    copy = tmp_path / chart.name
    shutil.copytree(chart, copy)
    proc = subprocess.run([tool("helm-docs"), "--chart-search-root", str(tmp_path)], env=tool_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (copy / "README.md").read_text() == (chart / "README.md").read_text(), (
        f"charts/{chart.name}/README.md is stale: run `helm-docs --chart-search-root charts`"
    )
