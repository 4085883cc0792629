"""Start-and-wait and stop-the-whole-group for the servers the tests run (serve_app, vLLM).

Both spawn process trees (Ray's raylet and workers, vLLM's engine core), so each runs in
its own session. Stopping sends SIGTERM to the leader only, as a supervisor would: the
server drains in-flight requests while its children (Ray's GCS, raylet, workers) still
run. Signalling the whole group at once would kill those children under the drain and
leave the leader waiting on a dead cluster. Anything left after the wait gets SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Callable

import httpx


def wait_healthy(url: str, process: subprocess.Popen, timeout_s: float, log_tail: Callable[[], str], what: str) -> None:
    """Poll ``url`` until it answers 200; fail early with the log if the process dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log_tail()}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(2)
    stop_group(process)
    raise TimeoutError(f"{what} not healthy after {timeout_s}s:\n{log_tail()}")


def stop_group(process: subprocess.Popen, timeout_s: float = 60) -> None:
    """SIGTERM the leader, wait up to ``timeout_s`` for it to drain and exit, then SIGKILL the group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def interrupt_on_sigterm(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    """A SIGTERM handler: stop like Ctrl-C, so `finally` blocks stop the servers this process started.

    Python's default SIGTERM action ends the process at once, leaving its servers (own
    sessions, so no group signal reaches them) running with nobody to stop them.
    """
    raise KeyboardInterrupt(f"signal {signum}")
