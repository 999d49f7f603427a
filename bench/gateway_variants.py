"""The gateways bench/gateways.py measures, each at each de-duplication setting it runs: our
router (router.yaml per setting, optionally also with several workers), Hive Gateway (its own
planner and Hive Router's Rust planner; a gateway config per setting) and Apollo Gateway (no
de-duplication: once), and the floor under them all (bench/floor.py: the router's subgraph calls
and the answer's bytes, nothing else). A `Variant` is one of them with the command that starts it
on a port."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness.common import ROOT, RUN, VENV_PYTHON, run
from bench.harness.processes import GATEWAY_CPU, LOAD_CPU
from bench.harness.references import HIVE_DIR, apollo_command, hive_command, router_command
from bench.harness.runner import Build


@dataclass
class Variant:
    """One gateway at one de-duplication setting."""

    gateway: str  # router | hive-gateway | apollo-gateway
    group: str  # on | off
    label: str  # what is de-duplicated, as printed
    build: Build  # (port) -> (command, env, path)
    cpus: str = GATEWAY_CPU  # where it runs: one core, or both for several router workers


@dataclass
class Setup:
    """What every variant is built from: Node, the composed supergraph, the router.yaml keys this
    router accepts (`router_keys`), and notes for the report on what was left out."""

    node: str
    supergraph: Path
    router_keys: dict[str, bool]
    notes: list[str] = field(default_factory=list)


# The de-duplication settings, run for the router and Hive Gateway alike.
# label: (group, inbound: identical client requests share one execution,
#                subgraph: identical subgraph fetches share one HTTP call)
DEDUPE_MODES = {
    "on (in+subgraph)": ("on", True, True),
    "on (subgraph)": ("on", False, True),
    "off": ("off", False, False),
}
# router.yaml keys of the router's two kinds of de-duplication, under traffic_shaping
ROUTER_KEYS = {
    "inbound": ("router", "deduplicate_requests"),
    "subgraph": ("all", "deduplicate_query"),
}


def router_keys() -> dict[str, bool]:
    """Which of ROUTER_KEYS this router's config accepts (the keys are recent)."""
    found = {}
    for kind, (section, key) in ROUTER_KEYS.items():
        probe = (
            "from router.config import parse_config\n"
            f"c = parse_config('traffic_shaping: {{{section}: {{{key}: false}}}}')\n"
            f"assert getattr(c, {key!r}, None) is False\n"
        )
        found[kind] = run([str(VENV_PYTHON), "-c", probe], timeout=60, cwd=ROOT).returncode == 0
    return found


def router_config(modes: dict[str, bool], keys: dict[str, bool]) -> str:
    """router.yaml setting each supported de-duplication key to `modes[kind]`."""
    sections: dict[str, list[str]] = {}
    for kind, (section, key) in ROUTER_KEYS.items():
        if keys[kind]:
            sections.setdefault(section, []).append(f"    {key}: {str(modes[kind]).lower()}")
    if not sections:
        return "# this router has no de-duplication keys: its defaults\n"
    lines = ["traffic_shaping:"]
    for section, entries in sections.items():
        lines += [f"  {section}:", *entries]
    return "\n".join(lines) + "\n"


def router_variants(setup: Setup, groups: list[str], workers: int = 1) -> list[Variant]:
    """Our router at each setting in `groups` its config can express (its defaults when it has no
    de-duplication keys), each with a router.yaml of its own; with `workers` > 1, also as many
    workers on both cores."""
    keys = setup.router_keys
    runs: list[tuple[str, str, dict[str, bool]]] = []
    if not any(keys.values()):
        runs.append((groups[0], "defaults (no keys)", {"inbound": False, "subgraph": False}))
    for label, (group, inbound, subgraph) in DEDUPE_MODES.items():
        modes = {"inbound": inbound, "subgraph": subgraph}
        if group in groups and any(keys.values()):
            # a kind the router cannot configure is a kind it does not have
            if all(keys[kind] or not on for kind, on in modes.items()):
                runs.append((group, label, modes))
    variants = []
    for group, label, modes in runs:
        slug = re.sub(r"[^a-z]+", "-", label).strip("-")
        config = RUN / f"router-{slug}.yaml"
        config.write_text(router_config(modes, keys))

        for count in sorted({1, workers}):

            def build(
                port: int, config: Path = config, count: int = count
            ) -> tuple[list[str], dict[str, str], str]:
                workers = ["--workers", str(count)] if count > 1 else []
                return router_command(config, setup.supergraph, port, *workers), {}, "/graphql"

            if count == 1:
                variants.append(Variant("router", group, label, build))
            else:  # N workers need N cores: both, shared with wrk and the subgraphs
                name = f"router ×{count} workers"
                variants.append(Variant(name, group, label, build, f"{GATEWAY_CPU},{LOAD_CPU}"))
    return variants


def hive_variants(setup: Setup, groups: list[str]) -> list[Variant]:
    """Hive Gateway twice per setting: its default (stitching) planner, and Hive Router's Rust
    query planner (`@graphql-hive/router-runtime`'s `unifiedGraphHandler`, as its docs enable it)."""
    variants = []
    for label, (group, inbound, subgraph) in DEDUPE_MODES.items():
        if group not in groups:
            continue
        slug = re.sub(r"[^a-z]+", "-", label).strip("-")
        for name, rust in (("hive-gateway", False), ("hive-gateway + rust planner", True)):
            # In the package folder, so that its `import` finds node_modules.
            config = HIVE_DIR / f"bench-{'rust-' if rust else ''}{slug}.mjs"
            config.write_text(
                f"// Written by bench/gateways.py: {name}, de-duplication {label}.\n"
                + (
                    'import { unifiedGraphHandler } from "@graphql-hive/router-runtime";\n'
                    if rust
                    else ""
                )
                + "export const gatewayConfig = {\n"
                + ("  unifiedGraphHandler,\n" if rust else "")
                + f"  inboundInflightRequestDeduplication: {json.dumps(inbound)},\n"
                "  transportEntries: {\n"
                f'    "*.http": {{ options: {{ deduplicateInflightRequests: {json.dumps(subgraph)} }} }},\n'
                "  },\n"
                "};\n"
            )

            def build(
                port: int, config: Path = config, rust: bool = rust
            ) -> tuple[list[str], dict[str, str], str]:
                # --jit (graphql-jit) is for the default planner: with the Rust planner's
                # executor it answers every root field null, without an error.
                jit = [] if rust else ["--jit"]
                cmd = hive_command(setup.node, setup.supergraph, config, port, *jit)
                return cmd, {"NODE_ENV": "production"}, "/graphql"

            variants.append(Variant(name, group, label, build))
    return variants


def apollo_variants(setup: Setup, groups: list[str]) -> list[Variant]:
    """Apollo Gateway once, in the "off" group (it has no de-duplication), when that group runs."""
    if "off" not in groups:
        return []

    def build(port: int) -> tuple[list[str], dict[str, str], str]:
        return apollo_command(setup.node, setup.supergraph, port), {"NODE_ENV": "production"}, "/"

    return [Variant("apollo-gateway", "off", "off (none)", build)]


def floor_variants(setup: Setup, groups: list[str]) -> list[Variant]:
    """bench/floor.py once, in the "off" group (it shares nothing), when that group runs."""
    if "off" not in groups:
        return []

    def build(port: int) -> tuple[list[str], dict[str, str], str]:
        command = [str(VENV_PYTHON), "-m", "bench.floor", "--supergraph", str(setup.supergraph)]
        return [*command, "--port", str(port)], {}, "/graphql"

    return [Variant("floor", "off", "off (calls only)", build)]
