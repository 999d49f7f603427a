"""Persisted queries: Apollo's automatic persisted queries (APQ) and the safelist.

APQ remembers a document by its SHA-256 once it has been sent with its text and prepared
(parsed, validated, planned); a request may then send the hash alone. The safelist is Apollo's
persisted query manifest (`persisted_queries.safelist`): only its operations run, by id or,
unless `require_id`, by their exact text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from router.config import Config
from router.errors import RequestError
from router.request.cache import BoundedCache
from router.router import Router
from router.types import JSONObject

__all__ = ["APQ_BYTES", "APQ_ENTRIES", "PersistedQueries", "load_safelist"]

APQ_ENTRIES = 10_000
APQ_BYTES = 32 * 1024 * 1024


class PersistedQueries:
    """The APQ cache and the safelist of one served app."""

    def __init__(self, config: Config) -> None:
        self.apq: BoundedCache[str, str] = BoundedCache(APQ_BYTES, APQ_ENTRIES)
        """Only documents that prepared, weighed by their length."""
        self.safelist = (
            load_safelist(config.safelist_file) if config.persisted_queries_enabled else None
        )
        """Read once, from the config the app started with."""

    def resolve(
        self,
        router: Router,
        config: Config,
        query: str | None,
        extensions: JSONObject,
        operation_name: str | None,
    ) -> str:
        """The document to run: the request's, or the one its hash or safelist id names."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if isinstance(persisted, dict) and config.apq_enabled and "sha256Hash" in persisted:
            query = self._apq(router, query, persisted.get("sha256Hash"), operation_name)
        if self.safelist is not None:
            ids, bodies = self.safelist
            operation_id = persisted.get("id") if isinstance(persisted, dict) else None
            if isinstance(operation_id, str) and operation_id in ids:
                return ids[operation_id]
            if query is None or config.require_id or query not in bodies:
                raise RequestError(
                    "this operation is not in the router's safelist",
                    "QUERY_NOT_IN_SAFELIST",
                    status=403,
                )
        if query is None:
            raise RequestError("the request has no `query` string", "BAD_REQUEST")
        return query

    def _apq(
        self, router: Router, query: str | None, sha: object, operation_name: str | None
    ) -> str:
        if not isinstance(sha, str):
            raise RequestError("persistedQuery.sha256Hash must be a string", "BAD_REQUEST")
        if query is None:
            known = self.apq.get(sha)
            if known is None:
                raise RequestError(
                    "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", status=200
                )
            return known
        if hashlib.sha256(query.encode()).hexdigest() != sha:
            raise RequestError("provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH")
        prepared, _ = router.try_prepare(query, operation_name, count=False)
        if prepared is not None:  # a document that cannot run is never stored
            self.apq.put(sha, query, len(sha) + 2 * len(query) + 100)
        return query


def load_safelist(path: Path | None) -> tuple[dict[str, str], set[str]]:
    """Apollo's persisted query manifest: {"operations": [{"id", "body", ...}]}."""
    if path is None:
        return {}, set()
    manifest = json.loads(path.read_text())
    ids = {op["id"]: op["body"] for op in manifest.get("operations", [])}
    return ids, set(ids.values())
