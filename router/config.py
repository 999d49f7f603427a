"""`router.yaml`: the router's configuration, in Apollo Router's spirit (same section names).

    supergraph:        { listen: 127.0.0.1:4000, path: /graphql, introspection: false,
                         file: supergraph.graphql }
    sandbox:           { enabled: false }   GraphiQL on GET (Apollo's name for its IDE page);
                                            needs supergraph.introspection: true
    headers:           { all: { request: [rules] }, subgraphs: { NAME: { request: [rules] } } }
                       rules: {propagate: {named | matching, rename?, default?}},
                              {insert: {name, value}}, {insert: {name, from_claim: sub}},
                              {remove: {named | matching}}
                       (a header inserted from a claim is never taken from the client)
    authentication:    { router: { jwt: { jwks: [{ url, issuers, audiences, algorithms,
                                                   poll_interval }],
                                          header_name: Authorization,
                                          header_value_prefix: Bearer,
                                          sources: [{ type: cookie, name }], leeway: 60s } } }
                       (router/authentication/settings.py)
    cors:              { origins: [...], allow_any_origin: false, allow_credentials: false,
                         allow_headers: [...] }   ("*" in origins = allow_any_origin; either
                         with allow_credentials is refused, as Apollo Router refuses it)
    limits:            { max_depth: 13, max_aliases: 30, max_root_fields, parser_max_tokens: 5000,
                         parser_max_source_length, max_recursive_selections, max_planning_steps,
                         http_max_request_bytes, http_max_response_bytes: 20MB,
                         http1_max_request_headers: 100, http1_max_request_buf_size: 400kib,
                         subgraph: { all: { http_max_response_size: 10MiB },
                                     subgraphs: { NAME: { http_max_response_size } } } }
    demand_control:    { enabled: true, mode: enforce | measure,
                         strategy: { static_estimated: { list_size: 10, max: 100000 } } }
    server:            { http: { header_read_timeout: 10s, body_read_timeout: 30s,
                                 keep_alive_timeout: 5s },
                         shutdown: { delay: 0s, timeout: 30s } }   (read at start-up only;
                         router/server/connections.py; the drain on SIGTERM:
                         router/server/drain.py)
    traffic_shaping:   { router: { deduplicate_requests: true, concurrency_limit: none,
                                   timeout: 30s },
                         all: { timeout: 30s, deduplicate_query: true,
                                batch_entity_fetches: true },
                         subgraphs: { NAME: { timeout: 5s } } }
    include_subgraph_errors: { all: false, subgraphs: { NAME: true } }
                       each entry true, false or { redact_message: true,
                       allow_extensions_keys: [...],
                       client_codes: [BAD_USER_INPUT, NOT_FOUND, CONFLICT, FORBIDDEN] }
                       (router/execute/masking.py); a subgraph's object overrides the keys it
                       sets, the rest comes from `all`
    csrf:              { unsafe_disabled: false, required_headers: [...] }
    apq:               { enabled: true }
    persisted_queries: { enabled: false, safelist: FILE, require_id: false }
    batching:          { enabled: false, max_size: 10 }
    progressive_override: { labels: [...] }
    plugins:           { experimental.expose_query_plan: false }
    authorization:     { require_authentication: false,
                         directives: { enabled: true, dry_run: false, reject_unauthorized: false,
                                       errors: { log: true, response: errors | extensions |
                                                 disabled },
                                       policy_evaluator: "package.module:function" } }
                       (router/authz/settings.py)
    telemetry:         { metrics: { prometheus: { enabled: true, path: /metrics } },
                         tracing: { enabled: false, service_name: router,
                                    otlp_endpoint: http://collector:4318/v1/traces } }

Production posture by default, as Apollo Router's: introspection, GraphiQL and subgraph error
messages off. `dev_mode()` (`serve --dev`, `python -m router dev`, bin/run) turns them on
with query plan exposure, as Apollo Router's `--dev` does.

`${env.NAME}` and `${env.NAME:-default}` expand as in Apollo Router. An unknown key or a value
of the wrong type stops the router at start-up with one message naming the key. Sizes are
bytes, or a number with a unit (`10MiB`, `512kb`).

Defaults that differ from Apollo Router's, so that the router refuses what the services behind
it would refuse instead of forwarding it: `max_depth` 13 and `max_aliases` 30 are the
services' own limits (subgraph_kit/schema.py: Strawberry's depth 12 does not count the root
field's level, the router's depth does); demand control is on and enforcing (Apollo: off).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from router.authentication.settings import ALGORITHMS, JwksSettings, JwtSettings, TokenSource
from router.authz.policies import load_evaluator
from router.authz.settings import AuthorizationSettings
from router.errors import RouterError
from router.execute.headers import HOP_BY_HOP, HeaderRule, claim, subgraph_headers
from router.execute.masking import SHOW_ALL, ErrorInclusion, SubgraphErrors
from router.request.cost import DemandControlSettings

__all__ = [
    "HOP_BY_HOP",
    "Config",
    "ConfigError",
    "HeaderRule",
    "claim",
    "dev_mode",
    "expand_env",
    "load_config",
    "parse_config",
    "subgraph_headers",
]

_ENV = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(RouterError):
    """router.yaml is wrong; the message names the key."""


@dataclass(frozen=True)
class Config:
    listen_host: str = "127.0.0.1"
    listen_port: int = 4000
    path: str = "/graphql"
    introspection: bool = False
    sandbox: bool = False
    """GraphiQL for browsers on GET of the GraphQL path (router.yaml `sandbox.enabled`)."""
    supergraph_file: Path | None = None
    header_rules: dict[str, tuple[HeaderRule, ...]] = field(default_factory=dict)
    jwt: JwtSettings | None = None
    """authentication.router.jwt: tokens verified at the router (router/authentication/)."""
    """'*' for all subgraphs, else per subgraph name (applied after '*')."""
    cors_origins: tuple[str, ...] = ()
    cors_allow_credentials: bool = False
    cors_allow_headers: tuple[str, ...] = (
        "content-type",
        "apollo-require-preflight",
        "x-apollo-operation-name",
    )
    max_depth: int = 13
    """Field levels, root fields included: the services' Strawberry limit of 12 counts the
    levels below the root fields, so both refuse the same operations."""
    max_aliases: int = 30
    max_root_fields: int = 100
    parser_max_tokens: int = 5_000
    """The services refuse documents over 5,000 tokens (subgraph_kit/schema.py), and what the
    router sends them is rarely shorter than what it was sent."""
    parser_max_source_length: int = 262_144
    max_recursive_selections: int = 100_000
    max_planning_steps: int = 200_000
    http_max_request_bytes: int = 2_000_000
    http_max_response_bytes: int = 20_000_000
    """The largest response body the router sends; a larger one is replaced by a
    RESPONSE_TOO_LARGE error."""
    subgraph_max_response_bytes: int = 10 * 1024 * 1024
    """`limits.subgraph.all.http_max_response_size` (Apollo's key): a subgraph answer larger
    than this is not read further; its connection is closed and the fetch fails."""
    subgraph_max_response_bytes_for: dict[str, int] = field(default_factory=dict)
    demand_control: DemandControlSettings = field(default_factory=DemandControlSettings)
    http1_max_request_headers: int = 100
    http1_max_request_buf_size: int = 400 * 1024
    """Bytes of a request's head (request line and headers), as Apollo Router's hyper buffer."""
    header_read_timeout: float = 10.0
    body_read_timeout: float = 30.0
    """A request body must be whole this long after its head (ours; Apollo has none)."""
    keep_alive_timeout: float = 5.0
    shutdown_delay: float = 0.0
    """On SIGTERM, keep listening this long, readiness 503, before closing (a preStop sleep)."""
    shutdown_timeout: float = 30.0
    """On SIGTERM, wait at most this long for the connections in flight to finish."""
    router_timeout: float = 30.0
    """A whole GraphQL request (batch included) is answered by then, or gets 504."""
    concurrency_limit: int | None = None
    """GraphQL requests in flight at once; beyond it 503 REQUEST_CONCURRENCY_LIMITED (Apollo
    Router's traffic_shaping.router.concurrency_limit; no limit by default, as there)."""
    timeout: float = 30.0
    subgraph_timeouts: dict[str, float] = field(default_factory=dict)
    deduplicate_query: bool = True
    batch_entity_fetches: bool = True
    """Entity fetches to one subgraph that are ready together go as one request (aliased
    `_entities` fields), queries only; on by default, as Hive Gateway batches. On
    bench/gateways.py's workload one answer takes 7 subgraph requests instead of 13 (Hive
    Gateway + Rust planner: 7), and under load with subgraph de-duplication 1.9 instead of 2.6.
    `false` sends each fetch alone (Apollo Router's default)."""
    deduplicate_requests: bool = True
    """Identical client queries in flight at once share one execution (Hive Gateway's inbound
    de-duplication); only requests whose forwarded headers are the same."""
    subgraph_errors: SubgraphErrors = field(default_factory=SubgraphErrors)
    """include_subgraph_errors: redacted by default (masking.py)."""
    csrf_enabled: bool = True
    csrf_required_headers: tuple[str, ...] = ("x-apollo-operation-name", "apollo-require-preflight")
    apq_enabled: bool = True
    persisted_queries_enabled: bool = False
    safelist_file: Path | None = None
    require_id: bool = False
    batching_enabled: bool = False
    batching_max_size: int = 10
    override_labels: frozenset[str] = frozenset()
    expose_query_plan: bool = False
    metrics_enabled: bool = True
    metrics_path: str = "/metrics"
    tracing_enabled: bool = False
    service_name: str = "router"
    otlp_endpoint: str | None = None
    authorization: AuthorizationSettings = field(default_factory=AuthorizationSettings)


def dev_mode(config: Config) -> Config:
    """Development defaults over `config`: introspection, GraphiQL, subgraph errors passed
    through and query plans exposed (Apollo Router's `--dev`)."""
    return dataclasses.replace(
        config,
        introspection=True,
        sandbox=True,
        subgraph_errors=SHOW_ALL,
        expose_query_plan=True,
    )


def expand_env(
    text: str, environ: Mapping[str, str], error: type[RouterError] = ConfigError
) -> str:
    """`${env.NAME}` and `${env.NAME:-default}` replaced, as rover and Apollo Router do; an unset
    variable with no default raises `error`."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise error(f"environment variable {name} is not set (used as ${{env.{name}}})")

    return _ENV.sub(replace, text)


def load_config(path: str | Path | None, environ: Mapping[str, str] = os.environ) -> Config:
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_config(text, base=path.parent, environ=environ)


def parse_config(
    text: str, *, base: Path = Path("."), environ: Mapping[str, str] = os.environ
) -> Config:
    try:
        raw = yaml.safe_load(expand_env(text, environ)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"router config is not valid YAML: {exc}") from None
    reader = _Reader(raw, "")
    values: dict[str, Any] = {}
    supergraph = reader.section("supergraph", {"listen", "path", "introspection", "file"})
    if "listen" in supergraph.raw:
        host, _, port = supergraph.text("listen").rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(
                f"supergraph.listen must be HOST:PORT, got {supergraph.raw['listen']!r}"
            )
        values.update(listen_host=host, listen_port=int(port))
    values.update(supergraph.pick(path=str, introspection=bool))
    if "file" in supergraph.raw:
        values["supergraph_file"] = base / supergraph.text("file")

    headers = reader.section("headers", {"all", "subgraphs"})
    rules: dict[str, tuple[HeaderRule, ...]] = {}
    if "all" in headers.raw:
        rules["*"] = _header_rules(headers.section("all", {"request"}), "headers.all")
    for name, sub in headers.mapping("subgraphs").items():
        rules[name] = _header_rules(
            _Reader(sub, f"headers.subgraphs.{name}", {"request"}), f"headers.subgraphs.{name}"
        )
    values["header_rules"] = rules
    authentication = reader.section("authentication", {"router"}).section("router", {"jwt"})
    if "jwt" in authentication.raw:
        values["jwt"] = _jwt(
            authentication.section(
                "jwt", {"jwks", "header_name", "header_value_prefix", "sources", "leeway"}
            )
        )

    cors = reader.section(
        "cors", {"origins", "allow_any_origin", "allow_credentials", "allow_headers"}
    )
    origins = tuple(cors.strings("origins")) if "origins" in cors.raw else ()
    if "allow_any_origin" in cors.raw and cors.flag("allow_any_origin"):
        origins = ("*", *origins)
    if origins:
        values["cors_origins"] = origins
    if "allow_headers" in cors.raw:
        values["cors_allow_headers"] = tuple(h.lower() for h in cors.strings("allow_headers"))
    values.update(
        _rename(cors.pick(allow_credentials=bool), cors_allow_credentials="allow_credentials")
    )
    if "*" in origins and values.get("cors_allow_credentials"):
        # Browsers refuse `Access-Control-Allow-Origin: *` on credentialed requests, and
        # reflecting every origin instead would let any site read answers made with the
        # user's cookies.
        raise ConfigError(
            "cors.allow_credentials: true cannot be combined with any origin "
            "(cors.origins: ['*'] or cors.allow_any_origin: true); list the origins"
        )

    limits = reader.section(
        "limits",
        {
            "max_depth",
            "max_aliases",
            "max_root_fields",
            "parser_max_tokens",
            "parser_max_source_length",
            "max_recursive_selections",
            "max_planning_steps",
            "http_max_request_bytes",
            "http_max_response_bytes",
            "subgraph",
            "http1_max_request_headers",
            "http1_max_request_buf_size",
        },
    )
    values.update(
        limits.pick(
            max_depth=int,
            max_aliases=int,
            max_root_fields=int,
            parser_max_tokens=int,
            parser_max_source_length=int,
            max_recursive_selections=int,
            max_planning_steps=int,
            http_max_request_bytes=int,
        )
    )
    if "http_max_response_bytes" in limits.raw:
        values["http_max_response_bytes"] = limits.size("http_max_response_bytes")
    subgraph_limits = limits.section("subgraph", {"all", "subgraphs"})
    all_limits = subgraph_limits.section("all", {"http_max_response_size"})
    if "http_max_response_size" in all_limits.raw:
        values["subgraph_max_response_bytes"] = all_limits.size("http_max_response_size")
    values["subgraph_max_response_bytes_for"] = {
        name: _Reader(sub, f"limits.subgraph.subgraphs.{name}", {"http_max_response_size"}).size(
            "http_max_response_size"
        )
        for name, sub in subgraph_limits.mapping("subgraphs").items()
    }
    values["demand_control"] = _demand_control(
        reader.section("demand_control", {"enabled", "mode", "strategy"})
    )
    if "http1_max_request_headers" in limits.raw:
        values["http1_max_request_headers"] = limits.positive("http1_max_request_headers")
    if "http1_max_request_buf_size" in limits.raw:
        values["http1_max_request_buf_size"] = limits.size("http1_max_request_buf_size")

    server = reader.section("server", {"http", "shutdown"})
    http = server.section(
        "http", {"header_read_timeout", "body_read_timeout", "keep_alive_timeout"}
    )
    for key in ("header_read_timeout", "body_read_timeout", "keep_alive_timeout"):
        if key in http.raw:
            values[key] = http.duration(key)
            if values[key] <= 0:
                raise ConfigError(f"server.http.{key} must be longer than 0s")
    shutdown = server.section("shutdown", {"delay", "timeout"})
    for key in ("delay", "timeout"):
        if key in shutdown.raw:
            values[f"shutdown_{key}"] = shutdown.duration(key)
            if values[f"shutdown_{key}"] < 0:
                raise ConfigError(f"server.shutdown.{key} must be 0s or longer")

    shaping = reader.section("traffic_shaping", {"all", "subgraphs", "router"})
    router_shaping = shaping.section(
        "router", {"deduplicate_requests", "concurrency_limit", "timeout"}
    )
    values.update(router_shaping.pick(deduplicate_requests=bool))
    if "timeout" in router_shaping.raw:
        values["router_timeout"] = router_shaping.duration("timeout")
    if router_shaping.raw.get("concurrency_limit") is not None:
        values["concurrency_limit"] = router_shaping.positive("concurrency_limit")
    if "all" in shaping.raw:
        all_subgraphs = shaping.section(
            "all", {"timeout", "deduplicate_query", "batch_entity_fetches"}
        )
        if "timeout" in all_subgraphs.raw:
            values["timeout"] = all_subgraphs.duration("timeout")
        values.update(all_subgraphs.pick(deduplicate_query=bool, batch_entity_fetches=bool))
    values["subgraph_timeouts"] = {
        name: _Reader(sub, f"traffic_shaping.subgraphs.{name}", {"timeout"}).duration("timeout")
        for name, sub in shaping.mapping("subgraphs").items()
    }

    errors = reader.section("include_subgraph_errors", {"all", "subgraphs"})
    every = _inclusion(errors.raw.get("all", False), ErrorInclusion(), f"{errors.where}.all")
    values["subgraph_errors"] = SubgraphErrors(
        every,
        {
            name: _inclusion(entry, every, f"include_subgraph_errors.subgraphs.{name}")
            for name, entry in errors.mapping("subgraphs").items()
        },
    )
    sandbox = reader.section("sandbox", {"enabled"})
    values.update(_rename(sandbox.pick(enabled=bool), sandbox="enabled"))
    if values.get("sandbox") and not values.get("introspection"):
        raise ConfigError(
            "sandbox.enabled needs supergraph.introspection: true (GraphiQL reads the schema "
            "by introspection)"
        )

    csrf = reader.section("csrf", {"unsafe_disabled", "required_headers"})
    if "unsafe_disabled" in csrf.raw:
        values["csrf_enabled"] = not csrf.flag("unsafe_disabled")
    if "required_headers" in csrf.raw:
        values["csrf_required_headers"] = tuple(h.lower() for h in csrf.strings("required_headers"))

    apq = reader.section("apq", {"enabled"})
    values.update(_rename(apq.pick(enabled=bool), apq_enabled="enabled"))
    persisted = reader.section("persisted_queries", {"enabled", "safelist", "require_id"})
    values.update(
        _rename(persisted.pick(enabled=bool, require_id=bool), persisted_queries_enabled="enabled")
    )
    if "safelist" in persisted.raw:
        values["safelist_file"] = base / persisted.text("safelist")
    batching = reader.section("batching", {"enabled", "max_size"})
    values.update(
        _rename(
            batching.pick(enabled=bool, max_size=int),
            batching_enabled="enabled",
            batching_max_size="max_size",
        )
    )
    override = reader.section("progressive_override", {"labels"})
    if "labels" in override.raw:
        values["override_labels"] = frozenset(override.strings("labels"))
    plugins = reader.section("plugins", {"experimental.expose_query_plan"})
    if "experimental.expose_query_plan" in plugins.raw:
        values["expose_query_plan"] = plugins.flag("experimental.expose_query_plan")
    telemetry = reader.section("telemetry", {"metrics", "tracing"})
    prometheus = telemetry.section("metrics", {"prometheus"}).section(
        "prometheus", {"enabled", "path"}
    )
    values.update(
        _rename(
            prometheus.pick(enabled=bool, path=str), metrics_enabled="enabled", metrics_path="path"
        )
    )
    tracing = telemetry.section("tracing", {"enabled", "service_name", "otlp_endpoint"})
    values.update(
        _rename(
            tracing.pick(enabled=bool, service_name=str, otlp_endpoint=str),
            tracing_enabled="enabled",
        )
    )
    values["authorization"] = _authorization(
        reader.section("authorization", {"require_authentication", "directives"})
    )
    reader.no_unknown(
        {
            "authorization",
            "supergraph",
            "headers",
            "authentication",
            "cors",
            "limits",
            "demand_control",
            "server",
            "traffic_shaping",
            "include_subgraph_errors",
            "sandbox",
            "csrf",
            "apq",
            "persisted_queries",
            "batching",
            "progressive_override",
            "plugins",
            "telemetry",
        }
    )
    return Config(**values)


def _jwt(section: _Reader) -> JwtSettings:
    """`authentication.router.jwt` in Apollo Router's shape."""
    raw_jwks = section.raw.get("jwks")
    if not isinstance(raw_jwks, list) or not raw_jwks:
        raise ConfigError(f"{section.where}.jwks must be a list of JWKS (each with a url)")
    jwks = []
    for index, item in enumerate(raw_jwks):
        entry = _Reader(
            item,
            f"{section.where}.jwks[{index}]",
            {"url", "issuers", "audiences", "algorithms", "poll_interval"},
        )
        if "url" not in entry.raw:
            raise ConfigError(f"{entry.where}.url is required (https://…, file://…)")
        url = entry.text("url")
        if not url.startswith(("https://", "http://", "file://")):
            raise ConfigError(
                f"{entry.where}.url must be https://, http:// or file://, got {url!r}"
            )
        lists: dict[str, Any] = {
            k: tuple(entry.strings(k))
            for k in ("issuers", "audiences", "algorithms")
            if k in entry.raw
        }
        unknown = [a for a in lists.get("algorithms", ()) if a not in ALGORITHMS]
        if unknown:
            raise ConfigError(
                f"{entry.where}.algorithms: {unknown[0]!r} is not one of {', '.join(ALGORITHMS)}"
            )
        if "poll_interval" in entry.raw:
            lists["poll_interval"] = entry.duration("poll_interval")
        jwks.append(JwksSettings(url, **lists))
    header = TokenSource(
        "header",
        str(section.raw.get("header_name", "Authorization")).lower(),
        str(section.raw.get("header_value_prefix", "Bearer")),
    )
    sources = [header]
    for index, item in enumerate(section.raw.get("sources") or []):
        source = _Reader(
            item, f"{section.where}.sources[{index}]", {"type", "name", "value_prefix"}
        )
        kind = source.raw.get("type")
        if kind not in ("header", "cookie") or "name" not in source.raw:
            raise ConfigError(f"{source.where} must be {{type: header | cookie, name: …}}")
        name = source.text("name")
        sources.append(
            TokenSource(
                kind,
                name.lower() if kind == "header" else name,
                str(source.raw.get("value_prefix", "")),
            )
        )
    options: dict[str, Any] = {}
    if "leeway" in section.raw:
        options["leeway"] = section.duration("leeway")
    return JwtSettings(tuple(jwks), tuple(sources), **options)


def _inclusion(raw: Any, inherited: ErrorInclusion, where: str) -> ErrorInclusion:
    """One include_subgraph_errors entry: true, false, or an object whose unset keys come
    from `inherited` (the `all` entry, for a subgraph)."""
    if isinstance(raw, bool):
        return ErrorInclusion(include=True) if raw else ErrorInclusion()
    entry = _Reader(raw, where, {"redact_message", "allow_extensions_keys", "client_codes"})
    keys: dict[str, Any] = {
        key: frozenset(entry.strings(key))
        for key in ("allow_extensions_keys", "client_codes")
        if key in entry.raw
    }
    return dataclasses.replace(inherited, include=False, **entry.pick(redact_message=bool), **keys)


def _demand_control(section: _Reader) -> DemandControlSettings:
    """`demand_control` in Apollo Router's shape; keys left out keep their defaults."""
    defaults = DemandControlSettings()
    static = section.section("strategy", {"static_estimated"}).section(
        "static_estimated", {"list_size", "max"}
    )
    mode = section.raw.get("mode", defaults.mode)
    if mode not in ("measure", "enforce"):
        raise ConfigError(f"demand_control.mode must be measure or enforce, got {mode!r}")
    picked = static.pick(list_size=int, max=float)
    if picked.get("list_size", 0) < 0 or picked.get("max", 0) < 0:
        raise ConfigError("demand_control.strategy.static_estimated values must not be negative")
    return DemandControlSettings(
        enabled=section.flag("enabled") if "enabled" in section.raw else defaults.enabled,
        mode=mode,
        list_size=picked.get("list_size", defaults.list_size),
        max=picked.get("max", defaults.max),
    )


def _authorization(section: _Reader) -> AuthorizationSettings:
    """`authorization` in Apollo Router's shape, with our `directives.policy_evaluator`."""
    directives = section.section(
        "directives", {"enabled", "dry_run", "reject_unauthorized", "errors", "policy_evaluator"}
    )
    errors = directives.section("errors", {"log", "response"})
    response = errors.raw.get("response", "errors")
    if response not in ("errors", "extensions", "disabled"):
        raise ConfigError(
            "authorization.directives.errors.response must be errors, extensions or disabled, "
            f"got {response!r}"
        )
    evaluator = None
    name = directives.text("policy_evaluator") if "policy_evaluator" in directives.raw else None
    if name is not None:
        try:
            evaluator = load_evaluator(name)
        except ValueError as exc:
            raise ConfigError(f"authorization.directives.policy_evaluator: {exc}") from None
    return AuthorizationSettings(
        **section.pick(require_authentication=bool),
        **directives.pick(enabled=bool, dry_run=bool, reject_unauthorized=bool),
        **_rename(errors.pick(log=bool), log_errors="log"),
        errors_in=response,
        policy_evaluator=evaluator,
        policy_evaluator_name=name,
    )


def _rename(picked: dict[str, Any], **names: str) -> dict[str, Any]:
    """Map picked config keys onto Config field names (`field="key"`)."""
    by_key = {key: name for name, key in names.items()}
    return {by_key.get(key, key): value for key, value in picked.items()}


def _expect(value: Any, kind: type, where: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where} must be a {kind.__name__}, got {value!r}")
    return value


class _Reader:
    """A mapping of the config at `where`, refusing keys it does not know."""

    def __init__(self, raw: Any, where: str, known: set[str] | None = None) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{where or 'the router config'} must be a mapping, got {raw!r}")
        self.raw: dict[str, Any] = raw
        self.where = where
        if known is not None:
            self.no_unknown(known)

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def no_unknown(self, known: set[str]) -> None:
        unknown = sorted(set(self.raw) - known)
        if unknown:
            raise ConfigError(
                f"unknown key {self._key(unknown[0])!r} in the router config "
                f"(known here: {', '.join(sorted(known))})"
            )

    def section(self, key: str, known: set[str]) -> _Reader:
        return _Reader(self.raw.get(key), self._key(key), known)

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{self._key(key)} must be a mapping")
        return value

    def text(self, key: str) -> str:
        return str(_expect(self.raw[key], str, self._key(key)))

    def flag(self, key: str) -> bool:
        return bool(_expect(self.raw[key], bool, self._key(key)))

    def strings(self, key: str) -> list[str]:
        value = self.raw[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self._key(key)} must be a list of strings")
        return value

    def duration(self, key: str) -> float:
        value = self.raw.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", str(value))
        if match is None:
            raise ConfigError(
                f"{self._key(key)} must be a duration like 500ms, 5s or 1m, got {value!r}"
            )
        number = float(match.group(1))
        return {"ms": number / 1000, "s": number, "m": number * 60}[match.group(2)]

    def size(self, key: str) -> int:
        """Bytes: an integer, or a number with a unit (`512kb`, `10MiB`, `2GB`)."""
        value = self.raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]i?b|b)", str(value).strip().lower())
        if match is None:
            raise ConfigError(
                f"{self._key(key)} must be a size in bytes like 2000000, 512kb or 10MiB, "
                f"got {value!r}"
            )
        unit = match.group(2)
        scale = {"b": 1, "k": 1000, "m": 1000**2, "g": 1000**3}[unit[0]]
        if "i" in unit:
            scale = {"k": 1024, "m": 1024**2, "g": 1024**3}[unit[0]]
        return int(float(match.group(1)) * scale)

    def positive(self, key: str) -> int:
        value = self.raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{self._key(key)} must be a positive integer, got {value!r}")
        return value

    def pick(self, **kinds: type) -> dict[str, Any]:
        return {
            key: _expect(self.raw[key], kind, self._key(key))
            for key, kind in kinds.items()
            if key in self.raw
        }


def _header_rules(section: _Reader, where: str) -> tuple[HeaderRule, ...]:
    raw = section.raw.get("request") or []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}.request must be a list of rules")
    rules = []
    for index, item in enumerate(raw):
        spot = f"{where}.request[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(f"{spot} must be one of propagate / insert / remove")
        ((kind, body),) = item.items()
        if kind not in ("propagate", "insert", "remove"):
            raise ConfigError(f"{spot}: unknown rule {kind!r} (use propagate, insert or remove)")
        rule = _Reader(
            body,
            f"{spot}.{kind}",
            {"named", "matching", "rename", "default", "name", "value", "from_claim"},
        )
        named = rule.raw.get("named") or rule.raw.get("name")
        matching = rule.raw.get("matching")
        if kind == "insert" and (not named or ("value" in rule.raw) == ("from_claim" in rule.raw)):
            raise ConfigError(f"{spot}.insert needs name and one of value or from_claim")
        if kind != "insert" and "from_claim" in rule.raw:
            raise ConfigError(f"{spot}: from_claim is for insert rules")
        if kind != "insert" and not (named or matching):
            raise ConfigError(f"{spot}.{kind} needs named or matching")
        if named and str(named).lower() in HOP_BY_HOP and kind != "remove":
            raise ConfigError(f"{spot}: {named} is a hop-by-hop header and is never forwarded")
        try:
            pattern = re.compile(str(matching), re.IGNORECASE) if matching else None
        except re.error as exc:
            raise ConfigError(
                f"{spot}.{kind}.matching is not a valid regular expression: {exc}"
            ) from None
        rules.append(
            HeaderRule(
                kind=kind,
                named=str(named).lower() if named else None,
                matching=pattern,
                rename=str(rule.raw["rename"]).lower() if rule.raw.get("rename") else None,
                default=str(rule.raw["default"]) if "default" in rule.raw else None,
                value=str(rule.raw["value"]) if "value" in rule.raw else None,
                claim=rule.text("from_claim") if "from_claim" in rule.raw else None,
            )
        )
    return tuple(rules)
