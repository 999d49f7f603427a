"""What of a subgraph's errors reaches clients: router.yaml's `include_subgraph_errors`.

A subgraph's error messages are written for its developers and may carry internals (a
database's words, a host name, an upstream HTTP body), so by default, as in Apollo Router, a
client sees `Subgraph errors redacted` with only `extensions.code` and `extensions.serviceName`.
This covers every error that names a subgraph: the ones it answered with and the ones the router
wrote for a failed fetch (a non-2xx status, a timeout, a body that is not GraphQL JSON), whose
messages can quote the subgraph's body.

Two exceptions keep a frontend able to say what was wrong:

- errors whose `extensions.code` is one of `client_codes` (default BAD_USER_INPUT, NOT_FOUND,
  CONFLICT, FORBIDDEN: the codes subgraph_kit raises for clients, its messages written for them)
  keep their message and `extensions.field` (which argument was wrong). Never for a failed
  fetch: a non-2xx body is not an answer, whatever code it claims;
- `allow_extensions_keys` keeps more extension keys on every redacted error, and
  `redact_message: false` keeps every message (Apollo Router's names).

The original error is logged (logger `router`, event `subgraph_error_redacted`) so operators can
still read it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from router.types import JSONObject

logger = logging.getLogger("router")

REDACTED = "Subgraph errors redacted"
"""Apollo Router's message for a redacted subgraph error."""
CLIENT_CODES = frozenset({"BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "FORBIDDEN"})
ALWAYS_KEPT = ("code", "serviceName")
CLIENT_KEPT = ("field",)
"""Extension keys an error with a client code keeps besides ALWAYS_KEPT."""


@dataclass(frozen=True, slots=True)
class ErrorInclusion:
    """How one subgraph's errors reach clients (one `include_subgraph_errors` entry)."""

    include: bool = False
    """Everything passes (message and all extensions): `true` in router.yaml."""
    redact_message: bool = True
    allow_extensions_keys: frozenset[str] = frozenset()
    client_codes: frozenset[str] = CLIENT_CODES

    def apply(self, error: JSONObject, *, fetch_failed: bool = False) -> JSONObject:
        """The error as a client may see it (a new dict; `error` is not changed)."""
        if self.include:
            return error
        extensions = error.get("extensions")
        extensions = extensions if isinstance(extensions, dict) else {}
        code = extensions.get("code")
        for_client = not fetch_failed and isinstance(code, str) and code in self.client_codes
        keep_message = for_client or not self.redact_message
        kept_keys = (*ALWAYS_KEPT, *(CLIENT_KEPT if for_client else ()))
        masked: JSONObject = {
            "message": error.get("message") if keep_message else REDACTED,
            **({"path": error["path"]} if "path" in error else {}),
            "extensions": {
                key: value
                for key, value in extensions.items()
                if (key in kept_keys or key in self.allow_extensions_keys)
                and (key != "code" or isinstance(value, str))
            },
        }
        if not keep_message:
            logger.info(
                json.dumps(
                    {
                        "event": "subgraph_error_redacted",
                        "service": extensions.get("serviceName"),
                        "code": code if isinstance(code, str) else None,
                        "message": str(error.get("message"))[:1000],
                    }
                )
            )
        return masked


@dataclass(frozen=True, slots=True)
class SubgraphErrors:
    """`include_subgraph_errors`: the `all` entry and per-subgraph overrides.

    Called with a subgraph's name it answers whether that subgraph's errors pass unchanged
    (the `Callable[[str], bool]` the Router takes as `show_subgraph_errors`)."""

    all: ErrorInclusion = ErrorInclusion()
    subgraphs: Mapping[str, ErrorInclusion] = field(default_factory=dict)

    def for_service(self, service: str) -> ErrorInclusion:
        """The entry for the subgraph named `service`: its own override, else `all`."""
        return self.subgraphs.get(service, self.all)

    def __call__(self, service: str) -> bool:
        return self.for_service(service).include

    def apply(self, service: str, error: JSONObject, *, fetch_failed: bool = False) -> JSONObject:
        """`error` from the subgraph named `service` as a client may see it, by that subgraph's
        entry (`ErrorInclusion.apply`)."""
        return self.for_service(service).apply(error, fetch_failed=fetch_failed)


SHOW_ALL = SubgraphErrors(ErrorInclusion(include=True))
