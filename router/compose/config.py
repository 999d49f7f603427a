"""`supergraph.yaml` in rover's format: the federation version and each subgraph's routing URL and
schema source (`file`, `subgraph_url` with `introspection_headers`, or inline `sdl`).

`${env.NAME}` and `${env.NAME:-default}` are expanded in the parsed string values, as rover does
(router-config-style expansion): a variable's value is text in one value, never YAML structure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from router.env import expand_values
from router.errors import RouterError

_TOP_KEYS = {"federation_version", "subgraphs"}
_SUBGRAPH_KEYS = {"routing_url", "schema"}
_SCHEMA_KEYS = {"file", "subgraph_url", "introspection_headers", "sdl", "graphref", "subgraph"}
SERVICE_SDL = "query SubgraphIntrospectQuery { _service { sdl } }"


class SupergraphConfigError(RouterError):
    """supergraph.yaml is wrong; the message names the subgraph and the problem."""


@dataclass(frozen=True)
class SubgraphConfig:
    """One subgraph of supergraph.yaml: its name, routing URL and where its schema comes from (a
    file, a URL to introspect, or inline SDL)."""

    name: str
    routing_url: str
    file: Path | None = None
    subgraph_url: str | None = None
    introspection_headers: dict[str, str] = field(default_factory=dict)
    sdl: str | None = None


@dataclass(frozen=True)
class SupergraphConfig:
    """supergraph.yaml as read: the federation version and its subgraphs, in the file's order."""

    federation_version: str
    subgraphs: tuple[SubgraphConfig, ...]
    path: Path | None = None


def load_config(path: str | Path, environ: Mapping[str, str] = os.environ) -> SupergraphConfig:
    """supergraph.yaml read from `path` (relative schema files resolved against its folder); a
    SupergraphConfigError when it cannot be read or is wrong."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SupergraphConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_config(text, base=path.parent, environ=environ, path=path)


def parse_config(
    text: str, *, base: Path, environ: Mapping[str, str] = os.environ, path: Path | None = None
) -> SupergraphConfig:
    """supergraph.yaml's text, `${env.NAME}` expanded from `environ`, checked for unknown keys; a
    SupergraphConfigError naming the subgraph and problem when it is wrong."""
    try:
        raw = expand_values(yaml.safe_load(text), environ, SupergraphConfigError)
    except yaml.YAMLError as exc:
        raise SupergraphConfigError(f"supergraph config is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SupergraphConfigError("supergraph config must be a mapping with `subgraphs`")
    _no_unknown(raw, _TOP_KEYS, "the top level")
    subgraphs = raw.get("subgraphs")
    if not isinstance(subgraphs, dict) or not subgraphs:
        raise SupergraphConfigError("supergraph config has no `subgraphs`")
    version = str(raw.get("federation_version", "=2.11.0")).lstrip("=")
    return SupergraphConfig(
        federation_version=version,
        subgraphs=tuple(_subgraph(name, value, base) for name, value in subgraphs.items()),
        path=path,
    )


def _no_unknown(raw: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SupergraphConfigError(
            f"unknown key {unknown[0]!r} in {where} (expected one of: {', '.join(sorted(known))})"
        )


def _subgraph(name: str, raw: Any, base: Path) -> SubgraphConfig:
    where = f"subgraph {name!r}"
    if not isinstance(raw, dict):
        raise SupergraphConfigError(f"{where}: expected a mapping with routing_url and schema")
    _no_unknown(raw, _SUBGRAPH_KEYS, where)
    schema = raw.get("schema")
    if not isinstance(schema, dict):
        raise SupergraphConfigError(f"{where}: `schema` must give `file`, `subgraph_url` or `sdl`")
    _no_unknown(schema, _SCHEMA_KEYS, f"{where} schema")
    sources = [k for k in ("file", "subgraph_url", "sdl") if k in schema]
    if len(sources) != 1:
        raise SupergraphConfigError(
            f"{where}: `schema` must give exactly one of file, subgraph_url, sdl"
        )
    routing_url = raw.get("routing_url") or schema.get("subgraph_url")
    if not routing_url:
        raise SupergraphConfigError(f"{where}: `routing_url` is required")
    headers = schema.get("introspection_headers") or {}
    file = (base / schema["file"]) if "file" in schema else None
    return SubgraphConfig(
        name=name,
        routing_url=str(routing_url),
        file=file,
        subgraph_url=schema.get("subgraph_url"),
        introspection_headers={str(k): str(v) for k, v in headers.items()},
        sdl=schema.get("sdl"),
    )


def read_sdl(subgraph: SubgraphConfig, *, timeout: float = 10.0) -> str:
    """The subgraph's SDL from its file, inline text, or `_service { sdl }` over HTTP."""
    where = f"subgraph {subgraph.name!r}"
    if subgraph.sdl is not None:
        return subgraph.sdl
    if subgraph.file is not None:
        try:
            return subgraph.file.read_text()
        except OSError as exc:
            raise SupergraphConfigError(
                f"{where}: cannot read schema file {subgraph.file}: {exc.strerror}"
            ) from None
    assert subgraph.subgraph_url is not None
    try:
        response = httpx.post(
            subgraph.subgraph_url,
            json={"query": SERVICE_SDL},
            headers=subgraph.introspection_headers,
            timeout=timeout,
        )
        payload = response.json()
        return str(payload["data"]["_service"]["sdl"])
    except httpx.HTTPError as exc:
        raise SupergraphConfigError(
            f"{where}: cannot introspect {subgraph.subgraph_url}: {type(exc).__name__}: {exc}"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise SupergraphConfigError(
            f"{where}: {subgraph.subgraph_url} did not answer `_service {{ sdl }}` "
            "(is it a federated subgraph?)"
        ) from None
