"""Hostile documents and the ways to send them: through httpx, or as raw bytes on a socket."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.hostile.system import HOST, Outcome  # noqa: E402


def counted(counter: collections.Counter[str]) -> str:
    if len(counter) == 1 and sum(counter.values()) == 1:
        return next(iter(counter))
    return ", ".join(f"{key} ×{n}" for key, n in counter.most_common())


# --- the hostile requests ------------------------------------------------------------------


def fragment_bomb(levels: int, on: str, leaf: str) -> str:
    """`...F{levels}` where each fragment spreads the previous one twice: 2^levels leaves."""
    fragments = [f"fragment F0 on {on} {{ {leaf} }}"]
    fragments += [
        f"fragment F{i} on {on} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    return " ".join(fragments)


def query_bomb(levels: int) -> str:
    return f"query {{ ...F{levels} }} " + fragment_bomb(levels, "Query", "__typename")


def customer_bomb(levels: int) -> str:
    return f'query {{ customer(id: "1") {{ ...F{levels} }} }} ' + fragment_bomb(
        levels, "Customer", "id"
    )


def padded(i: int, size: int = 1_900_000) -> str:
    """A valid 1.9 MB document that is nearly all comments and whitespace, distinct per i."""
    line = "#" + " " * 70 + "padding\n"
    return f"# document {i}\n{{ __typename }}\n" + line * (size // len(line))


def unparsable(i: int, size: int = 1_900_000) -> str:
    return f"{{ {i} " + "!" * size


CUSTOMERS_ORDERS = (
    "customers(first: 100) { edges { node { orders(first: 100) { edges { node { customer { "
    "orders(first: 100) { edges { node { id status total { amount } } } } } } } } } } }"
)
ORDER_FIELDS = [
    "id",
    "status",
    "createdAt",
    "total { amount }",
    "total { currency }",
    "items { sku }",
    "items { quantity }",
    "customer { name }",
]


def distinct_order_selections(count: int) -> str:
    combos = (
        c for r in range(1, len(ORDER_FIELDS) + 1) for c in itertools.combinations(ORDER_FIELDS, r)
    )
    parts = [
        f"orders {{ edges {{ node {{ {' '.join(c)} }} }} }}"
        for c in itertools.islice(combos, count)
    ]
    return f'{{ customer(id: "1") {{ {" ".join(parts)} }} }}'


async def post(client: httpx.AsyncClient, url: str, payload: Any, outcome: Outcome) -> None:
    response = await client.post(
        url, content=orjson.dumps(payload), headers={"content-type": "application/json"}
    )
    outcome.add(response.status_code, response.content)


async def raw_http(request: bytes, wait: float) -> tuple[str, bytes]:
    """Send raw bytes on a new connection, then read the answer: (status, body) or what
    happened instead."""
    reader, writer = await asyncio.open_connection(HOST, PORT[0])
    try:
        writer.write(request)
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
        except asyncio.IncompleteReadError as exc:
            return ("closed, no answer" if not exc.partial else "bad answer"), b""
        except TimeoutError:
            return f"no answer in {wait:g} s", b""
        status = head.split(b" ", 2)[1].decode()
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await asyncio.wait_for(reader.readexactly(length), wait) if length else b""
        return status, body
    except (ConnectionError, OSError) as exc:
        return type(exc).__name__, b""
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


PORT = [0]
POLL_COST_MS = [0.0]
JSON_QUERY = orjson.dumps({"query": "{ __typename }"})


def raw_post(extra_headers: bytes, body: bytes = JSON_QUERY, length: int | None = None) -> bytes:
    return (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + extra_headers
        + f"Content-Length: {len(body) if length is None else length}\r\n\r\n".encode()
        + body
    )
