"""CORS: the headers that let a listed origin's browser pages call the router (`cors` section)."""

from __future__ import annotations

import functools

from router.config import Config
from router.server.responses import RawHeaders

__all__ = ["ALLOWED_METHODS", "cors_headers"]

ALLOWED_METHODS = b"GET, POST, OPTIONS"


def cors_headers(config: Config, headers: dict[str, str]) -> RawHeaders:
    """The CORS headers for a request from this `Origin`: none when it is not allowed."""
    origin = headers.get("origin")
    if origin is None or not config.cors_origins:
        return []
    if "*" in config.cors_origins:
        # Any origin: `*`, never the request's origin reflected (and never with
        # credentials; the config refuses that combination).
        allowed_origin = b"*"
    elif origin in config.cors_origins:
        allowed_origin = origin.encode("latin-1")
    else:
        return []
    allowed = [
        (b"access-control-allow-origin", allowed_origin),
        (b"access-control-allow-methods", ALLOWED_METHODS),
        (b"access-control-allow-headers", _joined(config.cors_allow_headers)),
        (b"vary", b"origin"),
    ]
    if config.cors_allow_credentials:
        allowed.append((b"access-control-allow-credentials", b"true"))
    return allowed


@functools.lru_cache(maxsize=8)
def _joined(names: tuple[str, ...]) -> bytes:
    """A header list as one value, made once per configured list (not per request)."""
    return ", ".join(names).encode()
