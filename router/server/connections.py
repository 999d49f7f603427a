"""Connection limits: what a client may cost the router before its request reaches the app.

uvicorn's HTTP/1.1 protocol (httptools) bounds neither the number nor the size of request
headers, has no deadline for reading them or the body, and keeps a fresh connection that sends
nothing open forever. `RouterHttpProtocol` is that protocol with Apollo Router's connection
limits added (router.yaml):

    limits.http1_max_request_headers     100      more headers: 431, connection closed
    limits.http1_max_request_buf_size    400kib   a larger request head (request line and
                                                  headers): 431, connection closed
    server.http.header_read_timeout      10s      a connection that has not sent a whole
                                                  request head by then is closed (408 when
                                                  it had started one)
    server.http.body_read_timeout        30s      a body not complete by then (it stopped
                                                  before its Content-Length): 408, closed
    server.http.keep_alive_timeout       5s       an idle keep-alive connection is closed

Refusals are JSON GraphQL errors with a code, like the app's, never uvicorn's plain text.
A response's head and body go out in one write (`CoalescedWrites`): uvicorn writes the head at
`http.response.start`, and on loopback each write is a packet delivered in its own syscall.
These settings are read once at start-up (a hot-reloaded router.yaml does not change them).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from router.config import Config

__all__ = [
    "CoalescedWrites",
    "ConnectionLimits",
    "RouterHttpProtocol",
    "http_protocol",
    "uvicorn_options",
]

LINGER = 2.0
"""Seconds a refused connection still reads (and drops) what the client sends before closing."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The per-connection bounds `RouterHttpProtocol` enforces."""

    max_headers: int = 100
    max_head_bytes: int = 400 * 1024
    header_read_timeout: float = 10.0
    body_read_timeout: float = 30.0

    @classmethod
    def of(cls, config: Config) -> ConnectionLimits:
        """The limits router.yaml sets: `limits.http1_max_request_*` and
        `server.http.{header,body}_read_timeout`."""
        return cls(
            max_headers=config.http1_max_request_headers,
            max_head_bytes=config.http1_max_request_buf_size,
            header_read_timeout=config.header_read_timeout,
            body_read_timeout=config.body_read_timeout,
        )


class CoalescedWrites:
    """The connection's transport as uvicorn's request cycles see it: a write is held until the
    next one (then both go in one `writelines`) or the end of the event loop's turn, so a head
    and the body sent right after it leave together, and a head whose body comes later (a
    stream) still leaves at once. Closing sends what is held first."""

    __slots__ = ("_flush_scheduled", "_held", "_loop", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._flush_scheduled = False

    def write(self, data: bytes) -> None:
        """Send what is held together with `data`, or hold `data` until the turn ends."""
        held = self._held
        if held is not None:
            self._held = None
            self.transport.writelines((held, data))
            return
        self._held = data
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        held, self._held = self._held, None
        if held is not None and not self.transport.is_closing():
            self.transport.write(held)

    def close(self) -> None:
        """Send what is held, then close the connection."""
        held, self._held = self._held, None
        if held is not None and not self.transport.is_closing():
            self.transport.write(held)
        self.transport.close()

    def is_closing(self) -> bool:
        """Whether the connection is closing (the transport's own answer)."""
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a refused request: httptools re-raises it
    as an HttpParserError, which uvicorn answers with `send_400_response`."""


class RouterHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits and read deadlines."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._head_done = False  # the current request's head has been parsed
        self._head_bytes = 0  # bytes received for the current request's head
        self._header_count = 0
        self._head_bytes_parsed = 0  # the current head's bytes the parser has handed over
        self._refusal: tuple[int, bytes] | None = None  # chosen in a parser callback
        self._finished = False  # answered for the last time: the connection is closing
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._writes: CoalescedWrites | None = None

    # --- connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """uvicorn's, then the header deadline armed: a new connection has `header_read_timeout` to
        send its first request head."""
        super().connection_made(transport)
        self._writes = CoalescedWrites(transport, self.loop)
        # A new connection gets header_read_timeout to send its first request head.
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """The deadlines and the linger timer cancelled, then uvicorn's."""
        self._cancel_timers()
        self._cancel(self._linger)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """uvicorn's, with the head's bytes counted and no warning logged for a refusal."""
        if self._finished:
            return  # what a refused client still sends is dropped
        self._unset_keepalive_if_required()
        if not self._head_done:
            self._head_bytes += len(data)
            if self._header_timer is None:
                self._arm_header_timer()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._refusal is None:
                self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("")
            return
        # httptools keeps a header that is still arriving in its own buffer: bound it here.
        if not self._head_done and self._head_bytes > self.limits.max_head_bytes:
            self._refuse_head_too_large()
            self.send_400_response("")

    def handle_websocket_upgrade(self) -> None:
        """The deadlines cancelled, since the WebSocket protocol owns the connection from here, then
        uvicorn's upgrade."""
        self._cancel_timers()  # the WebSocket protocol owns the connection from here
        super().handle_websocket_upgrade()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse, as a coded JSON error (or the
        refusal a parser callback chose); the connection is closed."""
        status, body = self._refusal or (
            400,
            _error_body("the request is not valid HTTP/1.1", "BAD_REQUEST"),
        )
        self._finish(status, body)

    # --- parser callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        """uvicorn's, then the new request's header count and parsed head bytes start from zero."""
        super().on_message_begin()
        self._header_count = 0
        self._head_bytes_parsed = 0

    def on_url(self, url: bytes) -> None:
        """The URL counted into the head's bytes, then uvicorn's; a head past `max_head_bytes` is
        refused (431)."""
        self._head_bytes_parsed += len(url)
        if self._head_bytes_parsed > self.limits.max_head_bytes:
            self._refuse_head_too_large()
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """The header counted, then uvicorn's; more than `max_headers` headers, or a head past
        `max_head_bytes`, is refused (431)."""
        self._header_count += 1
        self._head_bytes_parsed += len(name) + len(value) + 4  # ": " and CRLF
        if self._header_count > self.limits.max_headers:
            self._refusal = (
                431,
                _error_body(
                    f"a request may have at most {self.limits.max_headers} headers "
                    "(limits.http1_max_request_headers)",
                    "REQUEST_HEADER_FIELDS_TOO_LARGE",
                ),
            )
            raise _Refused
        if self._head_bytes_parsed > self.limits.max_head_bytes:
            self._refuse_head_too_large()
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """The head is whole: the header deadline cancelled and the body's (`body_read_timeout`)
        armed, then uvicorn's."""
        self._head_done = True
        self._cancel(self._header_timer)
        self._header_timer = None
        self._body_timer = self.loop.call_later(self.limits.body_read_timeout, self._body_timed_out)
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not before:  # a request to answer (not an upgrade): its writes held
            self.cycle.transport = self._writes  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        """The body is whole: its deadline cancelled and the head's counts reset for the next
        request, then uvicorn's."""
        self._cancel(self._body_timer)
        self._body_timer = None
        self._head_done = False
        self._head_bytes = 0
        super().on_message_complete()

    # --- deadlines -----------------------------------------------------------------------

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(
            self.limits.header_read_timeout, self._header_timed_out
        )

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self._head_done:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head is late while a response is still being made: finish that
            # response, then close.
            self.cycle.keep_alive = False
            self.transport.pause_reading()
            return
        if self._head_bytes:
            self._finish(
                408,
                _error_body(
                    "the request head was not received in time (server.http.header_read_timeout)",
                    "REQUEST_TIMEOUT",
                ),
            )
        else:
            self.transport.close()

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            self._finish(
                408,
                _error_body(
                    "the request body was not received in time (server.http.body_read_timeout)",
                    "REQUEST_TIMEOUT",
                ),
            )
        else:
            self.transport.close()
        if cycle is not None:
            # The app sees a disconnect: its receive() returns and its send() is ignored.
            cycle.disconnected = True
            cycle.message_event.set()

    def _cancel_timers(self) -> None:
        self._cancel(self._header_timer)
        self._cancel(self._body_timer)
        self._header_timer = self._body_timer = None

    @staticmethod
    def _cancel(timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()

    # --- answers -------------------------------------------------------------------------

    def _refuse_head_too_large(self) -> None:
        self._refusal = (
            431,
            _error_body(
                f"the request head (request line and headers) is larger than "
                f"{self.limits.max_head_bytes} bytes (limits.http1_max_request_buf_size)",
                "REQUEST_HEADER_FIELDS_TOO_LARGE",
            ),
        )

    def _finish(self, status: int, body: bytes) -> None:
        """Send a last answer and close the connection."""
        if self._finished or self.transport.is_closing():
            return
        self._finished = True
        self._cancel_timers()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(
            b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            % len(body)
        )
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            # A lingering close, as nginx does it: closing with unread input makes the kernel
            # reset the connection, and a client still sending would lose this answer. So
            # send EOF, keep reading (and dropping) for a moment, then close.
            self.transport.write_eof()
            self.flow.resume_reading()
            self._linger = self.loop.call_later(LINGER, self.transport.close)
        else:
            self.transport.close()


def _error_body(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


def http_protocol(limits: ConnectionLimits) -> Callable[..., asyncio.Protocol]:
    """The protocol factory to give uvicorn (`uvicorn.Config(http=...)`); picklable, so
    `--workers N` can pass it to its worker processes."""
    return functools.partial(RouterHttpProtocol, limits=limits)


def uvicorn_options(config: Config) -> dict[str, Any]:
    """The uvicorn settings (`uvicorn.run(app, **options)`) that apply router.yaml's
    connection limits."""
    return {
        "http": http_protocol(ConnectionLimits.of(config)),
        "timeout_keep_alive": config.keep_alive_timeout,
    }
