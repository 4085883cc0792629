"""No module under tests/ imports from a test module (`test_*.py`).

What several test modules share (preset installers, Secret names, exception lists)
belongs in a module that is not itself collected as tests: tests/support/ or a
tier's helper module such as tests/cluster/presets.py. Importing from a test module
couples tests to each other's internals, and pytest collects any `test_*` function
imported into another module a second time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.tools import REPO

TESTS = REPO / "tests"


def is_test_module(name: str) -> bool:
    return name.startswith("test_")


def imports_of_test_modules(source: str) -> list[str]:
    """The imports in ``source`` that name a test module (or a `test_*` object from one)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if any(is_test_module(p) for p in a.name.split("."))]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if any(is_test_module(p) for p in (node.module or "").split(".")):
                found.append(module)
            else:
                # `from . import test_x` imports the module itself
                found += [f"{module}:{a.name}" for a in node.names if is_test_module(a.name)]
    return found


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("from .test_kuberay import install", [".test_kuberay"]),
        ("from tests.cluster.test_vllm_standalone import EXISTING_CLAIM", ["tests.cluster.test_vllm_standalone"]),
        ("import tests.cluster.test_kuberay as k", ["tests.cluster.test_kuberay"]),
        ("from . import test_kuberay", [".:test_kuberay"]),
        ("def f():\n    from .test_kuberay import install", [".test_kuberay"]),
        ("from .presets import install_cpu_tiny\nfrom tests.support.pods import pod_specs\nimport pytest", []),
    ],
    ids=["relative", "absolute", "import-as", "module-from-package", "inside-a-function", "helper-modules"],
)
def test_import_check_flags_imports_of_test_modules_only(source: str, flagged: list[str]):
    assert imports_of_test_modules(source) == flagged


def test_no_module_under_tests_imports_a_test_module():
    sources = sorted(TESTS.rglob("*.py"))
    assert any(is_test_module(p.stem) for p in sources), "found no test modules: wrong folder?"
    offenders = {
        str(path.relative_to(REPO)): imports
        for path in sources
        if (imports := imports_of_test_modules(path.read_text()))
    }
    assert not offenders, f"move what these import into a non-test module (tests/support/ or the tier's helpers): {offenders}"
