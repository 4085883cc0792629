"""Starting and stopping the local cluster scripts (ci/cluster, ci/node) from a test session.

The cluster tier runs the control plane with kwok nodes; the pods tier adds the real
node (kubelet, containerd, runc). Either way a start that fails or hangs fails the
session with every component's log tail, and the cluster is always stopped at the end,
also when CI's runner sends SIGTERM.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from .processes import interrupt_on_sigterm
from .tools import REPO

CLUSTER_SCRIPT = REPO / "ci" / "cluster"
NODE_SCRIPT = REPO / "ci" / "node"
UP_TIMEOUT_S = 240  # each script allows 120 s per wait; this bounds a whole start
# ci/node up also imports the serving images into containerd when podman rebuilt them
# (several GB; minutes on a cold machine, nothing on a warm one).
NODE_UP_TIMEOUT_S = 900
DOWN_TIMEOUT_S = 120


def run_script(script: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def component_logs(state: Path, lines: int = 20) -> str:
    """The end of every component log, for a failure message (down deletes the logs)."""
    parts = []
    for log in sorted((state / "logs").glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"--- {log.name} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "\n".join(parts)


def _up(script: Path, state: Path, timeout: float = UP_TIMEOUT_S) -> str:
    name = f"ci/{script.name} up"
    try:
        up = run_script(script, "up", str(state), timeout=timeout)
    except subprocess.TimeoutExpired as e:
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr or ""
        pytest.fail(f"{name} did not finish in {timeout:.0f}s:\n{stderr}\n{component_logs(state)}")
    if up.returncode != 0:
        pytest.fail(f"{name} failed (exit {up.returncode}):\n{up.stderr}\n{component_logs(state)}")
    return up.stderr


@contextmanager
def running(state: Path, real_node: bool, startup: dict[str, str | float]) -> Iterator[Path]:
    """A cluster in ``state`` (with the real node when asked) for the block; its kubeconfig.

    ``startup`` receives what the scripts printed and how long they took.
    """
    # A CI runner's SIGTERM stops the session like Ctrl-C, so the cluster is torn down.
    previous = signal.signal(signal.SIGTERM, interrupt_on_sigterm)
    try:
        started = time.monotonic()
        log = _up(CLUSTER_SCRIPT, state)
        if real_node:
            log += _up(NODE_SCRIPT, state, NODE_UP_TIMEOUT_S)
        startup.update(seconds=time.monotonic() - started, log=log)
        yield state / "kubeconfig"
    finally:
        down = run_script(CLUSTER_SCRIPT, "down", str(state), timeout=DOWN_TIMEOUT_S)
        signal.signal(signal.SIGTERM, previous)
        if down.returncode != 0:
            print(f"ci/cluster down failed:\n{down.stderr}", file=sys.stderr)
