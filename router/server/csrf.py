"""CSRF prevention, as Apollo Router's: a request a browser could send without a preflight
needs a JSON content type or one of the required headers (`csrf` section)."""

from __future__ import annotations

from router.config import Config
from router.errors import RequestError
from router.server.graphql_http import media_type

__all__ = ["SIMPLE_CONTENT_TYPES", "check_csrf"]

SIMPLE_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def check_csrf(config: Config, method: str, headers: dict[str, str]) -> None:
    """Refuse (CSRF_ERROR) a GET or a "simple" POST that carries none of the required headers."""
    if not config.csrf_enabled:
        return
    if any(h in headers for h in config.csrf_required_headers):
        return
    content_type = media_type(headers)
    if method == "POST" and content_type and content_type not in SIMPLE_CONTENT_TYPES:
        return
    raise RequestError(
        "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
        "Please "
        "either specify a 'content-type' header (with a mime-type that is not one of "
        f"{', '.join(SIMPLE_CONTENT_TYPES)}) or provide one of the following headers: "
        + ", ".join(config.csrf_required_headers),
        "CSRF_ERROR",
    )
