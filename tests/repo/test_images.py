"""The serving images: pinned bases in step with versions.env, and everything they copy exists and imports."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
import yaml

import serve_app
from tests.support.tools import REPO, versions

DOCKERFILES = sorted((REPO / "images" / "serve-app").glob("Dockerfile*"))


def instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def arg_defaults(ops: list[tuple[str, str]]) -> dict[str, str]:
    return dict(rest.split("=", 1) for op, rest in ops if op == "ARG" and "=" in rest)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_base_image_is_pinned_to_the_ray_version(path: Path):
    ops = instructions(path)
    args = arg_defaults(ops)
    assert args["RAY_VERSION"] == versions()["RAY_VERSION"]
    base = [rest for op, rest in ops if op == "FROM"][0].split()[0]
    assert ":${RAY_VERSION}-py311" in base, "base image must be tagged with the pinned Ray version"
    resolved = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
    assert resolved.startswith("rayproject/ray"), resolved


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_later_stages_build_on_earlier_ones(path: Path):
    """Only the first stage pulls a base; the CPU engine image and serve_app share its layers."""
    stages: list[str] = []
    for op, rest in instructions(path):
        if op == "FROM":
            words = rest.split()
            if stages:
                assert words[0] in stages, f"stage {words} does not build on an earlier stage"
            stages.append(words[-1] if len(words) == 3 and words[1].upper() == "AS" else words[0])


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_every_copied_path_exists(path: Path):
    for op, rest in instructions(path):
        if op == "COPY":
            sources = [a for a in rest.split() if not a.startswith("--")][:-1]
            for src in sources:
                assert (REPO / src).exists(), f"{path.name} copies missing {src}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_image_runs_as_the_non_root_ray_user(path: Path):
    users = [rest for op, rest in instructions(path) if op == "USER"]
    assert users and users[-1] == "1000"


def test_every_serve_app_module_imports():
    for mod in pkgutil.walk_packages(serve_app.__path__, "serve_app."):
        if mod.name != "serve_app.__main__":
            importlib.import_module(mod.name)


def test_image_tag_is_the_kuberay_chart_app_version():
    chart = yaml.safe_load((REPO / "charts" / "kuberay-llm" / "Chart.yaml").read_text())
    project = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M).group(1)
    assert chart["appVersion"] == project
