"""Namespace fixtures shared by the tiers that talk to a cluster (cluster, pods).

Each tier's conftest defines its own ``kube`` (how its cluster is reached) and imports
these, so a test gets a fresh namespace enforcing the restricted Pod Security profile
whichever cluster it runs on.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .kube import RESTRICTED, Kube, Namespaces


@pytest.fixture(scope="package")
def namespaces(kube: Kube) -> Namespaces:
    return Namespaces(kube)


@pytest.fixture
def namespace(namespaces: Namespaces, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace enforcing the restricted Pod Security profile, deleted afterwards."""
    name = namespaces.create(request.node.name.removeprefix("test_"), RESTRICTED)
    yield name
    namespaces.delete(name)
