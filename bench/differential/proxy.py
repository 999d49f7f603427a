"""A recording HTTP proxy in front of the audit's subgraphs, one per gateway.

Each gateway's supergraph points its subgraph URLs at its own proxy, which forwards every request
to the audit's server and, while recording, keeps each exchange (subgraph, request, answer): the
number of subgraph requests per operation, and the subgraphs' own answers to judge a contested
operation by.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Exchange:
    """One subgraph request through the proxy and its answer."""

    path: str
    request: Any
    status: int
    response: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "request": self.request,
            "status": self.status,
            "response": self.response,
        }


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:2000]


Route = Callable[[str], tuple[int, str]]  # request path -> upstream port and path


class RecordingProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream` (a port, or a `Route` choosing one per
    path); `take()` returns what was recorded. Of the request's headers it forwards the content
    type, accept and the names in `passed`; it adds `added` (what a gateway does not send)."""

    def __init__(
        self,
        port: int,
        upstream: int | Route,
        passed: tuple[str, ...] = (),
        added: Mapping[str, str] | None = None,
    ) -> None:
        self.route: Route = upstream if callable(upstream) else (lambda path: (upstream, path))
        forwarded = {"content-type", "accept", *passed}
        extra = dict(added or {})
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._forward(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self._forward(self.rfile.read(length))

            def _forward(self, body: bytes) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() in forwarded}
                headers.update(extra)
                try:
                    upstream, path = proxy.route(self.path)
                    conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
                    conn.request(self.command, path, body=body or None, headers=headers)
                    answer = conn.getresponse()
                    status, raw = answer.status, answer.read()
                    content_type = answer.getheader("content-type") or "application/json"
                    conn.close()
                except (OSError, LookupError) as exc:
                    status, raw, content_type = 502, str(exc).encode(), "text/plain"
                if self.command == "POST":
                    proxy._record(
                        Exchange(self.path, _json_or_text(body), status, _json_or_text(raw))
                    )
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def take(self) -> list[Exchange]:
        """The exchanges since the last call (and forget them)."""
        with self._lock:
            taken, self._exchanges = self._exchanges, []
        return taken

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
