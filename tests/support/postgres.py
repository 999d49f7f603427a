"""A private PostgreSQL cluster for the test session: its own data folder, port and socket.

It uses the server binaries of Debian's `postgresql` package (or any on PATH); as root it runs
them as the `postgres` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first; None when there is none."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(versions[-1]).parent if versions else None


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    port: int
    _as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, text=True)

    @classmethod
    def start(cls, bindir: Path, port: int) -> PostgresCluster:
        root = Path(tempfile.mkdtemp(prefix="pgtest-"))
        as_user: list[str] = []
        if os.geteuid() == 0:
            as_user = ["runuser", "-u", "postgres", "--"]
            root.chmod(0o755)
            shutil.chown(root, "postgres")
        cluster = cls(bindir, root, port, as_user)
        data = root / "data"
        try:
            cluster._run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
            cluster._run(
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "server.log"),
                "-w",
                "start",
            )
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"could not start PostgreSQL: {exc.stderr or exc.stdout}") from exc
        return cluster

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "stop",
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
