"""`python -m router` as a shell user runs it: in a pipeline whose reader goes away."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.paths import REPO

ROOT = REPO


def test_plan_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """`plan --json | head -c0`: no BrokenPipeError traceback, SIGPIPE's exit status."""
    query = tmp_path / "q.graphql"
    query.write_text('{ order(id: "1") { id customer { name } } }')
    command = ["plan", "--json", "--supergraph", str(ROOT / "supergraph.graphql"), str(query)]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        done = subprocess.run(
            [sys.executable, "-m", "router", *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141


def test_the_committed_router_yaml_serves_as_the_readme_says() -> None:
    """`python -m router serve --config router.yaml`, from the repository, in production posture."""
    from tests.support.auth import dev_keys
    from tests.support.services import ServiceProcess

    jwks = {"ROUTER_JWKS_URL": dev_keys().jwks_file.resolve().as_uri()}  # what it needs set
    router = ServiceProcess("router", ["--config", "router.yaml"], subcommand=["serve"], env=jwks)
    router.start()
    try:
        assert httpx.get(f"{router.url}/health").json() == {"status": "UP"}
        body = httpx.post(
            f"{router.url}/graphql", json={"query": "{ __schema { types { name } } }"}
        )
        assert [e["extensions"]["code"] for e in body.json()["errors"]] == [
            "INTROSPECTION_DISABLED"
        ]
        page = httpx.get(f"{router.url}/graphql", headers={"accept": "text/html"})
        assert "<html" not in page.text.lower()  # no GraphiQL
    finally:
        router.stop()


def parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every command line of the project: the router's commands and each demo service."""
    from customer_subgraph.settings import build_parser as customers
    from order_subgraph.settings import build_parser as orders
    from router.__main__ import build_parser

    found = [("customer_subgraph", customers({})), ("order_subgraph", orders({}))]
    pending = [("router", build_parser())]
    while pending:
        name, parser = pending.pop()
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending += [(f"{name} {sub}", p) for sub, p in action.choices.items()]
    return found


def test_every_flag_of_every_command_has_help() -> None:
    """`--help` documents every flag and argument, and every command says what it does."""
    missing = []
    commands = 0
    for name, parser in parsers():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                commands += len(action.choices)
                helps = {a.dest: a.help for a in action._choices_actions}
                missing += [f"{name} {sub}" for sub in action.choices if not helps.get(sub)]
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert commands == 7  # serve, plan, compose, dev, token, check, config-schema
    assert missing == []


def closed_pipe_run(command: list[str]) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        return subprocess.run(
            command, stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120
        )
    finally:
        os.close(write_end)


SCRIPTS = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["fedrouter", "plan", "--supergraph", "supergraph.graphql", "QUERY"],
        ["fedrouter", "compose", "--config", "supergraph.yaml"],
        ["customer-subgraph", "--print-schema"],
        ["order-subgraph", "--print-schema"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_commands_into_a_closed_pipe_exit_quietly(command: list[str], tmp_path: Path) -> None:
    """Small outputs too, which the interpreter would otherwise flush (and fail) only at exit."""
    query = tmp_path / "q.graphql"
    query.write_text('{ order(id: "1") { id } }')  # one fetch: a short plan
    argv = [str(query) if part == "QUERY" else part for part in command[1:]]
    done = closed_pipe_run([str(SCRIPTS / command[0]), *argv])
    assert (done.returncode, done.stderr) == (141, "")


def test_the_console_script_is_the_module_command() -> None:
    """`fedrouter` and `python -m router` are one command line, each named as it was called."""
    script = subprocess.run(
        [str(SCRIPTS / "fedrouter"), "--help"], capture_output=True, text=True, check=True
    )
    module = subprocess.run(
        [sys.executable, "-m", "router", "--help"], capture_output=True, text=True, check=True
    )
    assert script.stdout.startswith("usage: fedrouter [-h] COMMAND ...")
    assert script.stdout.replace("fedrouter", "python -m router").split() == module.stdout.split()
