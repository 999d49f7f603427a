"""Every command in README.md runs as written, from a fresh copy of the repository, without an
activated virtualenv: so the README cannot drift from the code.

Each ```bash block's lines run in order in one copy of the repository's files (what a clone
has, with this environment's .venv beside them, as bin/run or bin/test would have made it).
A command that serves until stopped is checked without serving: its argument list must parse
with the command's own parser, and the command itself must answer `--help`. An install runs as
written (its dependencies from the package index, as a reader's would). `bin/test` is what CI
runs (.ci/run), so it is not run again from inside itself.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import REPO

ROOT = REPO
FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class Command:
    """One shell command of the README (continuation lines joined) and where it stands."""

    line: int
    text: str

    @property
    def argv(self) -> list[str]:
        words = shlex.split(self.text, comments=True)
        for i, word in enumerate(words):  # the first command of a pipeline or a redirection
            if word in {"|", ">", "&&", ";"}:
                return words[:i]
        return words


def readme_commands(text: str) -> list[Command]:
    """The commands of the README's shell blocks. Any other shell dialect fails: a block that
    readers would run must be one this test runs."""
    commands = []
    language = None
    pending = ""
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if fence:
            if language is None:
                language = fence.group(1)
                assert language not in {"sh", "shell", "console", "zsh"}, (
                    f"README.md:{number}: write shell blocks as ```bash (this test runs those)"
                )
            else:
                language = None
            continue
        if language != "bash" or not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        commands.append(Command(number, pending + line))
        pending = ""
    return commands


def fresh_copy(destination: Path) -> Path:
    """The repository's files as a clone has them (tracked, or new and not ignored), committed
    in a repository of their own (so GIT_REF:PATH baselines resolve), with .venv beside them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    git = ["git", "-c", "user.name=readme", "-c", "user.email=readme@example.invalid"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "fresh clone"]):
        subprocess.run([*git, *step], cwd=destination, check=True, capture_output=True)
    (destination / ".venv").symlink_to(Path(sys.prefix))
    return destination


def parser_for(argv: list[str]) -> tuple[argparse.ArgumentParser, list[str]] | None:
    """The parser of a command that serves until stopped, and the arguments it gets; None for
    a command that finishes by itself."""
    from customer_subgraph.settings import build_parser as customers
    from order_subgraph.settings import build_parser as orders
    from router.__main__ import build_parser

    program, args = Path(argv[0]).name, argv[1:]
    if "--help" in args or "--print-schema" in args:
        return None
    if program == "run" and Path(argv[0]).parent.name == "bin":
        return build_parser(), ["dev", *args]  # bin/run: exec python -m router dev "$@"
    if program == "fedrouter" and args[:1] in (["serve"], ["dev"]):
        return build_parser(), args
    services: dict[str, Callable[..., argparse.ArgumentParser]]
    services = {"customer-subgraph": customers, "order-subgraph": orders}
    if program in services and args[:1] == ["migrate"]:
        return None  # upgrades the database (or prints its SQL) and exits
    if program in services:
        return services[program]({}), args
    return None


def shell_environment() -> dict[str, str]:
    """This environment without an activated virtualenv: the README must not assume one."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


def test_the_readme_has_the_commands_this_test_runs() -> None:
    commands = readme_commands((ROOT / "README.md").read_text())
    programs = {c.argv[0] for c in commands}
    assert {"bin/run", "bin/test", ".venv/bin/fedrouter", ".venv/bin/customer-subgraph"} <= programs
    assert len(commands) >= 20


def test_every_readme_command_runs_as_written(tmp_path: Path) -> None:
    copy = fresh_copy(tmp_path / "clone")
    env = shell_environment()
    assert "bin/test" in (ROOT / ".ci" / "run").read_text()  # CI runs bin/test itself
    failures = []
    for command in readme_commands((ROOT / "README.md").read_text()):
        where = f"README.md:{command.line}: {command.text}"
        argv = command.argv
        if argv == ["bin/test"]:
            continue
        served = parser_for(argv)
        text = command.text
        if served is not None:
            parser, args = served
            try:
                parser.parse_args(args)
            except SystemExit:
                failures.append(f"{where}\n  its arguments do not parse")
                continue
            text = shlex.join([*argv, "--help"])
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", text],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        print(f"{time.monotonic() - started:6.1f} s  {where}")  # where the minutes go (-s)
        if done.returncode != 0 or "Traceback" in done.stderr:
            failures.append(f"{where}\n  exit {done.returncode}: {done.stderr.strip()[-800:]}")
        elif served is not None and not done.stdout.startswith("usage: "):
            failures.append(f"{where}\n  --help printed no usage: {done.stdout[:200]}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("bin/run     # run everything", ["bin/run"]),
        (".venv/bin/x --print-schema > a/schema.graphql", [".venv/bin/x", "--print-schema"]),
        ("echo '{ a }' | head -5", ["echo", "{ a }"]),
    ],
)
def test_a_command_is_its_first_program_and_arguments(text: str, argv: list[str]) -> None:
    assert Command(1, text).argv == argv


def test_a_served_command_with_a_wrong_flag_is_found() -> None:
    """What the README's serving commands are held to: a flag their parser does not know."""
    served = parser_for(
        [".venv/bin/fedrouter", "serve", "--supergraph", "s.graphql", "--prot", "1"]
    )
    assert served is not None
    parser, args = served
    with pytest.raises(SystemExit):
        parser.parse_args(args)
