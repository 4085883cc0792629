"""A FAKE OpenAI streaming endpoint with a known timeline, to check the load harness.

The real servers' timing is unknown and noisy, so the harness's clocks cannot be
checked against them. This server sends every completion on a fixed schedule (first
token after ``first_s``, then one token every ``gap_s``), so the figures the harness
records can be compared with the truth. The model name picks a misbehaviour:

- ``scripted``: the schedule above, then a usage chunk and ``data: [DONE]``;
- ``scripted-broken``: the connection drops after three tokens, with no end of body;
- ``scripted-error-event``: two tokens, then an ``error`` event and ``[DONE]``;
- ``scripted-rejected``: HTTP 400 with an OpenAI-style error body.

``run_harness`` runs ``loadtest.run`` against one such server for the load tier's tests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from loadtest.run import main as run_load


@dataclass(frozen=True)
class Schedule:
    first_s: float = 0.3
    gap_s: float = 0.1
    tokens: int = 10


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    schedule = Schedule()

    def log_message(self, *_args) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the load generator stopped mid-stream at the end of its run

    def _answer(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body.get("model")
        if model == "scripted-rejected":
            payload = json.dumps({"error": {"message": "scripted rejection", "type": "BadRequestError", "code": 400}}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        s = self.schedule
        time.sleep(s.first_s)
        for i in range(s.tokens):
            if i:
                time.sleep(s.gap_s)
            if model == "scripted-broken" and i == 3:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            if model == "scripted-error-event" and i == 2:
                self._event({"error": {"message": "scripted engine failure", "type": "InternalServerError", "code": 500}})
                break
            self._event({"id": "cmpl-scripted", "object": "text_completion", "model": model, "choices": [{"index": 0, "text": f" t{i}", "finish_reason": None}]})
        else:
            self._event({"id": "cmpl-scripted", "object": "text_completion", "model": model, "choices": [],
                         "usage": {"prompt_tokens": 7, "completion_tokens": s.tokens, "total_tokens": 7 + s.tokens}})
        self._write(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _event(self, chunk: dict) -> None:
        self._write(b"data: " + json.dumps(chunk).encode() + b"\n\n")

    def _write(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


@contextmanager
def scripted_server(schedule: Schedule) -> Iterator[str]:
    """Serve on a free loopback port; yields the base URL."""
    handler = type("ScriptedHandler", (_Handler,), {"schedule": schedule})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_harness(schedule: Schedule, out: Path, *args: str, model: str = "scripted") -> int:
    """``loadtest.run`` against a scripted server (completions, the schedule's token count); its exit code."""
    with scripted_server(schedule) as url:
        return run_load(["--url", url, "--out", str(out), "--model", model, "--kind", "completion", "--max-tokens", str(schedule.tokens), *args])
