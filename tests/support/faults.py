"""Fault-injection helpers for the serve tier: find serve_app's processes, stream with a bound.

Processes are found among the descendants of the ``python -m serve_app`` process (Ray's
raylet, the replica actors' workers, vLLM's engine core), by the title Ray or vLLM give
them, so a test kills exactly the process it means to and nothing outside its own app.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable

import httpx
import psutil

ENGINE_CORE = "EngineCore"
#: Where the fault and fuzz tests write their figures, when set (reports/reliability.json).
FIGURES_ENV = "LLMSTACK_RELIABILITY_JSON"


def descendants(root_pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def find_processes(root_pid: int, needle: str) -> list[psutil.Process]:
    """Descendants of ``root_pid`` whose command line mentions ``needle``."""
    found = []
    for p in descendants(root_pid):
        try:
            if needle in " ".join(p.cmdline()) or needle in p.name():
                found.append(p)
        except psutil.Error:
            continue
    return found


def rss_bytes(root_pid: int) -> int:
    """Resident memory of the whole process tree (Ray, replicas, engines)."""
    total = 0
    for p in [psutil.Process(root_pid), *descendants(root_pid)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


@dataclass
class Outcome:
    """How one request ended, as a client sees it."""

    status: int | None = None
    chunks: int = 0
    done: bool = False
    error_event: dict[str, Any] | None = None
    error_body: dict[str, Any] | None = None
    completion_tokens: int | None = None
    exception: str | None = None
    started: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.done and self.error_event is None and self.exception is None

    @property
    def clean_error(self) -> bool:
        """A 5xx with an OpenAI error body, or a stream that ends with an error event."""
        if self.status is not None and self.status >= 500:
            return bool(self.error_body and "error" in self.error_body)
        return self.status == 200 and self.error_event is not None and self.exception is None


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def _bounded(out: Outcome, work: Awaitable[None], timeout_s: float) -> Outcome:
    """Await ``work`` (which fills ``out``) for at most ``timeout_s``; a hang or a transport error is recorded on ``out``."""
    try:
        await asyncio.wait_for(work, timeout_s)
    except asyncio.TimeoutError:
        out.exception = "hang (timeout)"
    except httpx.HTTPError as e:
        out.exception = type(e).__name__
    out.elapsed = time.monotonic() - out.started
    return out


async def stream(client: httpx.AsyncClient, path: str, body: dict, timeout_s: float, first_chunk: asyncio.Event | None = None) -> Outcome:
    """POST a streaming request and read it to its end, bounded by ``timeout_s``."""
    out = Outcome()

    async def run() -> None:
        async with client.stream("POST", path, json={**body, "stream": True}) as r:
            out.status = r.status_code
            if r.status_code != 200:
                out.error_body = _json_or_none(await r.aread())
                return
            async for line in r.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line.removeprefix("data: ")
                if data == "[DONE]":
                    out.done = True
                    continue
                event = json.loads(data)
                if "error" in event:
                    out.error_event = event["error"]
                    continue
                if event.get("usage"):
                    out.completion_tokens = event["usage"].get("completion_tokens")
                if event.get("choices"):
                    out.chunks += 1
                if first_chunk is not None and out.chunks >= 2:
                    first_chunk.set()

    return await _bounded(out, run(), timeout_s)


async def post(client: httpx.AsyncClient, path: str, body: dict, timeout_s: float) -> Outcome:
    """POST a non-streamed request, bounded by ``timeout_s``: its status, and its body when it is an error."""
    out = Outcome()

    async def run() -> None:
        r = await client.post(path, json=body)
        out.status = r.status_code
        out.done = r.status_code == 200
        if r.status_code != 200:
            out.error_body = _json_or_none(r.content)

    return await _bounded(out, run(), timeout_s)


def record_figures(section: str, figures: dict[str, Any]) -> None:
    """Merge ``figures`` under ``section`` into the JSON file named by $LLMSTACK_RELIABILITY_JSON."""
    path = os.environ.get(FIGURES_ENV)
    if not path:
        return
    target = Path(path)
    data = json.loads(target.read_text()) if target.exists() else {}
    data[section] = figures
    target.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
