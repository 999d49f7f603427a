"""router.yaml, the router's configuration, in Apollo Router's sections (same names, same
`${env.NAME:-default}` expansion in string values):

    load.py      load_config / parse_config: YAML, `${env.…}`, validation, one ConfigError
    model.py     RouterYaml, one typed model per section, and its JSON Schema
    sections.py  supergraph, sandbox, cors, limits, demand_control, server, traffic_shaping,
                 include_subgraph_errors, csrf, apq, persisted_queries, batching,
                 progressive_override, plugins, telemetry
    headers.py   headers: propagate / insert (value or from_claim) / remove rules
    auth.py      authentication.router.jwt and authorization
    types.py     the Section base and the value types: flags, counts, durations (`30s`),
                 sizes (`10MiB`)
    env.py       `${env.NAME}` expansion in parsed string values
    errors.py    ConfigError and how validation problems read (`limits.max_dpth: unknown key`)
    resolve.py   RouterYaml -> Config
    settings.py  Config, the flat settings the router runs with, and dev_mode()

Production posture by default, as Apollo Router's: introspection, GraphiQL and subgraph error
messages off. `dev_mode()` (`serve --dev`, `python -m router dev`, bin/run) turns them on with
query plan exposure, as Apollo Router's `--dev` does. An unknown key or a value of the wrong type
stops the router at start-up with one message naming the key.

Defaults that differ from Apollo Router's, so that the router refuses what the services behind
it would refuse instead of forwarding it: `max_depth` 13 and `max_aliases` 30 are the services'
own limits (subgraph_kit/schema.py: Strawberry's depth 12 does not count the root field's level,
the router's depth does); demand control is on and enforcing (Apollo: off).

The header rules' runtime (`subgraph_headers`, `claim`) is router/execute/headers.py: it runs
per subgraph fetch.
"""

from __future__ import annotations

from router.config.errors import ConfigError
from router.config.load import load_config, parse_config, read_model
from router.config.model import RouterYaml, json_schema
from router.config.settings import Config, dev_mode
from router.env import expand_env

__all__ = [
    "Config",
    "ConfigError",
    "RouterYaml",
    "dev_mode",
    "expand_env",
    "json_schema",
    "load_config",
    "parse_config",
    "read_model",
]
