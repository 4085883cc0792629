"""A minimal in-process OTLP/HTTP trace collector for the tests (loopback only).

It accepts what a real collector's `/v1/traces` endpoint accepts (protobuf
ExportTraceServiceRequest, optionally gzip-compressed), decodes it with the official
OTLP protobuf classes and keeps every span with its resource and attributes, so a
test can assert on exactly what serve_app and the engine exported.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse


@dataclass(frozen=True)
class Span:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    service: str
    attributes: dict[str, Any]


def _value(v) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


@dataclass
class Collector:
    spans: list[Span] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            for rs in request.resource_spans:
                resource = {a.key: _value(a.value) for a in rs.resource.attributes}
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        self.spans.append(Span(
                            name=s.name, kind=s.kind, trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                            parent_span_id=s.parent_span_id.hex(), service=str(resource.get("service.name")),
                            attributes={a.key: _value(a.value) for a in s.attributes},
                        ))

    def find(self, **attributes: Any) -> list[Span]:
        with self.lock:
            return [s for s in self.spans if all(s.attributes.get(k) == v for k, v in attributes.items())]

    def wait_for(self, what: str, match: Callable[[Span], bool], timeout_s: float) -> Span:
        """The first span ``match`` accepts, waiting for exporters that batch (fails naming ``what``)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.lock:
                found = [s for s in self.spans if match(s)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                with self.lock:
                    seen = sorted({(s.service, s.name) for s in self.spans})
                raise AssertionError(f"no span for {what} after {timeout_s:.0f}s; spans received: {seen}")
            time.sleep(0.2)


class OTLPServer:
    """Serves ``POST /v1/traces`` on 127.0.0.1 in a background thread."""

    def __init__(self) -> None:
        self.collector = Collector()
        collector = self.collector

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                collector.add(body)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def __enter__(self) -> "OTLPServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
