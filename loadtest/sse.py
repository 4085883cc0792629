"""Read an OpenAI-style server-sent-event stream and time its text chunks.

Kept apart from the Locust user so the timing rules are one small function: a chunk
counts as a token arrival when it carries non-empty text, stamped when its line is
read, and the stream is only complete once ``data: [DONE]`` arrived and the body ended.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass
class StreamResult:
    token_times: list[float] = field(default_factory=list)
    usage: dict | None = None
    done: bool = False
    error: str | None = None


def chunk_text(chunk: dict, kind: str) -> str:
    """The generated text a chunk carries: completions put it in ``text``, chat in ``delta``."""
    out = []
    for choice in chunk.get("choices") or []:
        piece = choice.get("text") if kind == "completion" else (choice.get("delta") or {}).get("content")
        if piece:
            out.append(piece)
    return "".join(out)


def read_stream(lines: Iterable[bytes], kind: str, clock: Callable[[], float] = time.perf_counter) -> StreamResult:
    """Consume the stream to its end and time its text chunks.

    ``lines`` must yield each line as soon as it is complete: a reader that waits to fill
    a buffer (Locust's FastHttpUser reads 1 KiB) would stamp several tokens at once and
    move the first token late. Reading goes on after ``[DONE]`` to the end of the body,
    because closing early makes the server count a client disconnect for a good request.
    """
    result = StreamResult()
    for line in lines:
        line = line.rstrip(b"\r\n")
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            result.done = True
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            result.error = f"not JSON in the stream: {data[:100]!r}"
            continue
        if chunk.get("error"):
            result.error = f"error event in the stream: {json.dumps(chunk['error'])[:200]}"
        if chunk.get("usage"):
            result.usage = chunk["usage"]
        if chunk_text(chunk, kind):
            result.token_times.append(clock())
    if result.error is None:
        if not result.done:
            result.error = "stream ended without data: [DONE]"
        elif not result.token_times:
            result.error = "stream carried no tokens"
    return result
