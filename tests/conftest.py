"""Suite-wide wiring: tier markers by folder, required tiers, per-tier timing.

Tiers are pytest markers (render, serve, cluster, pods, load). Each test folder belongs to
one tier, so tests carry their marker without repeating it. `make test` passes
`--require-tiers`: a tier with no test selected fails the run instead of passing
quietly, and so does a tool that is missing (see tests/support/tools.py).
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest

TIERS = ("render", "serve", "cluster", "pods", "load")
TESTS = Path(__file__).parent

# folder under tests/ -> tier marker applied to every test in it
FOLDER_TIERS = {
    "charts": "render",
    "presets": "render",
    "repo": "render",
    "config": "render",
    "security": "render",
    "serve_app": "serve",
    "observability_live": "serve",
    "cluster": "cluster",
    "pods": "pods",
    "load": "load",
}

# The order the tiers run in. The serve tier's engines (serve_app's two, vLLM's own
# server) are session fixtures and stay up until the run ends, holding GBs of memory
# and CPU on a 2-core machine; the cluster and pods tiers, whose real components have
# timeouts, run before any of them starts. (A full run once timed out a pods-tier Ray
# Serve rollout that passed whenever the tier ran alone.)
RUN_ORDER = ("render", "cluster", "pods", "serve", "load")

_durations: dict[str, float] = defaultdict(float)
_counts: dict[str, int] = defaultdict(int)
_started = time.monotonic()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-tiers",
        default="",
        help="comma-separated tiers that must each select at least one test",
    )


def tier_of(item: pytest.Item) -> str | None:
    for tier in TIERS:
        if item.get_closest_marker(tier):
            return tier
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        rel = Path(item.path).resolve().relative_to(TESTS.resolve())
        tier = FOLDER_TIERS.get(rel.parts[0]) if len(rel.parts) > 1 else None
        if tier and not tier_of(item):
            item.add_marker(getattr(pytest.mark, tier))
    # A stable sort: files keep their order within a tier.
    items.sort(key=lambda item: RUN_ORDER.index(tier_of(item)) if tier_of(item) in RUN_ORDER else len(RUN_ORDER))


def pytest_collection_finish(session: pytest.Session) -> None:
    required = [t for t in session.config.getoption("--require-tiers").split(",") if t]
    unknown = set(required) - set(TIERS)
    if unknown:
        raise pytest.UsageError(f"--require-tiers: unknown tier(s) {sorted(unknown)}; known: {TIERS}")
    selected = defaultdict(int)
    for item in session.items:
        selected[tier_of(item) or "untiered"] += 1
    missing = [t for t in required if not selected[t]]
    if missing:
        raise pytest.UsageError(f"required test tier(s) selected no tests: {', '.join(missing)}")
    if selected["untiered"]:
        names = [i.nodeid for i in session.items if not tier_of(i)][:5]
        raise pytest.UsageError(f"tests outside any tier (put them under a tier folder): {names}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    start = time.monotonic()
    yield
    tier = tier_of(item) or "untiered"
    _durations[tier] += time.monotonic() - start
    _counts[tier] += 1


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _counts:
        return
    terminalreporter.section("time per tier")
    for tier in (*TIERS, "untiered"):
        if _counts.get(tier):
            terminalreporter.write_line(f"{tier:<8} {_counts[tier]:>4} tests  {_durations[tier]:8.1f} s")
    terminalreporter.write_line(f"{'total':<8} {sum(_counts.values()):>4} tests  {time.monotonic() - _started:8.1f} s (wall)")


@pytest.fixture(scope="session")
def otlp_collector():
    """An in-process OTLP/HTTP trace collector on loopback, for the shared app's spans."""
    from tests.support.otlp import OTLPServer

    with OTLPServer() as server:
        yield server


@pytest.fixture(scope="session")
def served_app(tmp_path_factory: pytest.TempPathFactory, otlp_collector):
    """serve_app running two tiny-model engines with auth and tracing on, shared by the session."""
    from tests.support import serving

    config = serving.app_config(serving.model_dir(), otlp_endpoint=otlp_collector.endpoint)
    app = serving.start(tmp_path_factory.mktemp("serve_app"), config)
    yield app
    serving.stop(app)
