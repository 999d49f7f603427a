"""A lean HTTP/1.1 client for subgraph calls: keep-alive pools of asyncio protocols whose
responses are parsed by httptools (llhttp, the parser uvicorn serves with).

A subgraph call is always the same shape: one POST of a small JSON body to a known URL, one
response read whole. aiohttp's general-purpose client spends ~0.2 ms of Python per call on
that (bench/transports.py; cProfile in NOTES.md), more than the router's own planning and
shaping for a small query, so the hot path uses this instead:

- one pool per origin, at most `limit` connections, idle connections reused LIFO;
- a request is written with one `transport.write`; the response body is collected by the
  protocol and handed over as bytes when the message is complete (Content-Length, chunked, or
  read-until-close framing);
- a timeout, a cancellation or a malformed response closes that connection (a late answer can
  never be read as the next request's);
- a reused keep-alive connection the server closed before answering is retried once on a new
  connection, for queries only: a mutation is never sent twice;
- a response body larger than the endpoint's `max_response_bytes` is not read further (nor at
  all when its Content-Length says so): that connection is closed and the call fails with
  ResponseTooLarge.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import cast
from urllib.parse import urlsplit

import httptools

from router.errors import RouterError


class HttpClientError(RouterError):
    """The request could not be completed: connect failure, lost connection, bad response."""


class ResponseTooLarge(HttpClientError):
    """The response body is larger than the limit; the rest of it was never read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the response is larger than {limit} bytes")
        self.limit = limit


class _Closed(HttpClientError):
    def __init__(self, message: str, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.chunks: list[bytes] = []
        self.max_bytes = max_bytes
        self.size = 0
        self.status = 0
        self.framed = False
        self.answered = False
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpClientError(f"malformed HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        if self.status and not self.framed:  # the body ran until the server closed
            waiter.set_result((self.status, b"".join(self.chunks)))
        else:
            waiter.set_exception(
                _Closed("the subgraph closed the connection before answering", self.answered)
            )

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered in (b"content-length", b"transfer-encoding"):
            self.framed = True
        if (
            lowered == b"content-length"
            and self.max_bytes is not None
            and value.strip().isdigit()
            and int(value) > self.max_bytes
        ):
            self._fail(ResponseTooLarge(self.max_bytes))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self.waiter is None:  # failed already (too large): the rest is dropped unread
            return
        self.size += len(body)
        if self.max_bytes is not None and self.size > self.max_bytes:
            self.chunks = []
            self._fail(ResponseTooLarge(self.max_bytes))
            return
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.status < 200:  # an informational answer (100 Continue): the real one follows
            self.status, self.framed = 0, False
            return
        result = (self.status, b"".join(self.chunks))
        if not self.parser.should_keep_alive():
            self.close()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(result)

    # the client's side
    def exchange(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self.chunks, self.size = [], 0
        self.status, self.framed, self.answered = 0, False, False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Pool:
    def __init__(
        self,
        host: str,
        port: int,
        tls: ssl.SSLContext | None,
        limit: int,
        max_response_bytes: int | None = None,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.max_response_bytes = max_response_bytes
        self.slots = asyncio.Semaphore(limit) if limit > 0 else None
        self.idle: list[_Connection] = []
        self.closed = False

    async def connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            lambda: _Connection(self.max_response_bytes),
            self.host,
            self.port,
            ssl=self.tls,
            server_hostname=self.host if self.tls else None,
        )
        return connection

    def take_idle(self) -> _Connection | None:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                return connection
        return None

    def give_back(self, connection: _Connection) -> None:
        if self.closed:
            connection.close()
        elif not connection.closed:
            self.idle.append(connection)

    def close(self) -> None:
        """Close the idle connections now, and the busy ones when their answer is in."""
        self.closed = True
        for connection in self.idle:
            connection.close()
        self.idle.clear()


class Endpoint:
    """A URL to POST to, with its pool and the request head that never changes."""

    def __init__(
        self,
        url: str,
        limit: int,
        tls: ssl.SSLContext | None = None,
        *,
        max_response_bytes: int | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
        host_header = host if port == (443 if secure else 80) else f"{host}:{port}"
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        self.url = url
        self.pool = _Pool(
            parts.hostname,
            port,
            (tls or ssl.create_default_context()) if secure else None,
            limit,
            max_response_bytes,
        )
        self.head = f"POST {target} HTTP/1.1\r\nHost: {host_header}\r\n".encode("latin-1")


def _header_lines(headers: Iterable[tuple[str, str]]) -> bytes:
    lines = []
    for name, value in headers:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise HttpClientError(f"header {name!r} contains a line break")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


async def post(
    endpoint: Endpoint,
    body: bytes,
    headers: Iterable[tuple[str, str]],
    *,
    retry_if_closed: bool,
) -> tuple[int, bytes]:
    """POST `body`; the status and the whole response body, or HttpClientError.

    Callers bound it with `asyncio.timeout`: a cancellation at any point closes the connection
    in use and frees its slot."""
    request = b"".join(
        (
            endpoint.head,
            _header_lines(headers),
            b"Content-Length: %d\r\n\r\n" % len(body),
            body,
        )
    )
    pool = endpoint.pool
    if pool.slots is not None:
        await pool.slots.acquire()
    try:
        connection = pool.take_idle()
        if connection is not None:
            try:
                return await _exchange(pool, connection, request)
            except _Closed as exc:
                if not retry_if_closed or exc.answered:
                    raise
            # the subgraph closed this kept-alive connection before reading: once more, anew
        try:
            connection = await pool.connect()
        except OSError as exc:
            raise HttpClientError(f"{type(exc).__name__}: {exc}") from None
        return await _exchange(pool, connection, request)
    finally:
        if pool.slots is not None:
            pool.slots.release()


async def _exchange(pool: _Pool, connection: _Connection, request: bytes) -> tuple[int, bytes]:
    try:
        result = await connection.exchange(request)
    except BaseException:
        connection.close()  # lost, malformed, cancelled or timed out: its answer is never read
        raise
    pool.give_back(connection)
    return result
