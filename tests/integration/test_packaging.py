"""The two distributions as users install them: the router's wheel (`fedrouter`: the router and
the composer, no demo service, no database driver) and the demo services' (`fedrouter-demo`),
each built here from the repository without the network and installed into a clean virtualenv."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.paths import REPO

ROOT = REPO
DEMO_PACKAGES = {"customer_subgraph", "order_subgraph", "subgraph_kit"}
# what a router must not bring: the services' framework, ORM and database drivers
SERVICE_ONLY = {"strawberry-graphql", "sqlalchemy", "aiosqlite", "asyncpg", "email-validator"}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both wheels, built as `pip wheel --no-deps --no-build-isolation` builds them."""
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
            str(ROOT / "demo"),
        ],
        check=True,
        timeout=300,
    )
    built = {path.name.split("-")[0]: path for path in out.glob("*.whl")}
    assert set(built) == {"fedrouter", "fedrouter_demo"}, built
    return built


def contents(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def runtime_requirements(wheel: Path) -> set[str]:
    """The distributions a plain `pip install` of the wheel brings (no extra asked for)."""
    found = set()
    for line in metadata(wheel).get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            found.add(requirement.name.lower())
    return found


def entry_points(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        return archive.read(name).decode()


def test_the_router_wheel_holds_the_router_only(wheels: dict[str, Path]) -> None:
    names = contents(wheels["fedrouter"])
    assert {name.split("/")[0] for name in names} == {"router", "fedrouter-0.1.0.dist-info"}
    assert "router/compose/__init__.py" in names  # the composer comes with the router
    assert "router/py.typed" in names
    assert any(n.startswith("router/server/graphiql/static/") for n in names)  # GraphiQL offline
    assert metadata(wheels["fedrouter"])["Name"] == "fedrouter"


def test_the_router_wheel_depends_on_no_service_library(wheels: dict[str, Path]) -> None:
    required = runtime_requirements(wheels["fedrouter"])
    assert {"graphql-core", "uvicorn", "httptools", "orjson", "pyjwt"} <= required
    assert not required & SERVICE_ONLY, required & SERVICE_ONLY
    assert "starlette" not in required
    # the development tools are an extra, never a plain install's
    assert not required & {"pytest", "mypy", "ruff", "playwright", "setuptools"}


def test_the_router_wheel_has_the_console_script(wheels: dict[str, Path]) -> None:
    assert entry_points(wheels["fedrouter"]).split() == [
        "[console_scripts]",
        "fedrouter",
        "=",
        "router.__main__:script",
    ]


def test_the_demo_wheel_holds_the_services_and_not_the_router(wheels: dict[str, Path]) -> None:
    names = contents(wheels["fedrouter_demo"])
    assert {name.split("/")[0] for name in names} == DEMO_PACKAGES | {
        "fedrouter_demo-0.1.0.dist-info"
    }
    assert {"customer_subgraph/schema.graphql", "order_subgraph/schema.graphql"} <= set(names)
    required = runtime_requirements(wheels["fedrouter_demo"])
    assert {"strawberry-graphql", "sqlalchemy", "aiosqlite", "asyncpg"} <= required
    assert "fedrouter" in required  # they serve with the router's drain
    scripts = entry_points(wheels["fedrouter_demo"])
    assert "customer-subgraph = customer_subgraph.__main__:main" in scripts
    assert "order-subgraph = order_subgraph.__main__:main" in scripts


def clean_venv(path: Path, *wheels: Path) -> Path:
    """A new virtualenv with only `wheels` installed in it. Its dependencies are read from this
    environment's site-packages (a .pth line: no network), whose editable installs of this
    repository are not (the .pth files of a path added that way are never run)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            *map(str, wheels),
        ],
        check=True,
        timeout=300,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dependencies = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site) / "dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(dependencies)))
    return path / "bin"


def run(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_router_installed_alone_has_its_commands_and_no_demo_service(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    bin_dir = clean_venv(tmp_path / "venv", wheels["fedrouter"])
    work = tmp_path / "work"  # a graph of the user's own: supergraph.yaml and schema files
    for name in (
        "supergraph.yaml",
        "customer_subgraph/schema.graphql",
        "order_subgraph/schema.graphql",
    ):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, work / name)
    assert sorted(p.name for p in bin_dir.glob("*-subgraph")) == []
    where = run([bin_dir / "python", "-c", "import router; print(router.__file__)"], work)
    assert where.stdout.startswith(str(tmp_path / "venv")), where
    composed = run([bin_dir / "fedrouter", "compose", "--config", "supergraph.yaml"], work)
    assert composed.returncode == 0, composed.stderr
    assert composed.stdout == (ROOT / "supergraph.graphql").read_text()
    (work / "q.graphql").write_text('{ order(id: "1") { id customer { name } } }')
    planned = run(
        [bin_dir / "fedrouter", "plan", "--supergraph", ROOT / "supergraph.graphql", "q.graphql"],
        work,
    )
    assert planned.returncode == 0 and 'Fetch(service: "customers")' in planned.stdout, planned
    for package in sorted(DEMO_PACKAGES):
        missing = run([bin_dir / "python", "-c", f"import {package}"], tmp_path)
        assert f"No module named '{package}'" in missing.stderr, package


def test_the_demo_services_install_on_their_own(wheels: dict[str, Path], tmp_path: Path) -> None:
    bin_dir = clean_venv(tmp_path / "venv", wheels["fedrouter_demo"], wheels["fedrouter"])
    for script, package in [
        ("customer-subgraph", "customer_subgraph"),
        ("order-subgraph", "order_subgraph"),
    ]:
        printed = run([bin_dir / script, "--print-schema"], tmp_path)
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout.strip() == (ROOT / package / "schema.graphql").read_text().strip()
        usage = run([bin_dir / script, "--help"], tmp_path)
        assert usage.stdout.startswith(f"usage: {script} "), usage.stdout
        # its migration scripts are installed with it, and run
        database = f"sqlite:///{tmp_path}/{package}.sqlite3"
        migrated = run([bin_dir / script, "migrate", "--database-url", database], tmp_path)
        assert migrated.returncode == 0, migrated.stderr
        assert f"{package} database upgraded from an empty database to 0001" in migrated.stderr


def test_an_application_with_its_own_router_module_embeds_ours(tmp_path: Path) -> None:
    """As the README says: the application's `router` inside its package never meets ours, and a
    stray router.py beside a script shadows ours unless Python runs with -P."""
    app = tmp_path / "myapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "router.py").write_text("ROUTES = ['/']\n")
    main = "import myapp.router\nfrom router.router import Router\nprint(myapp.router.ROUTES, Router.__name__)\n"
    (tmp_path / "main.py").write_text(main)
    both = run([sys.executable, "main.py"], tmp_path)
    assert both.stdout == "['/'] Router\n", both.stderr
    (tmp_path / "router.py").write_text("ROUTES = ['/']\n")  # the stray one, beside the script
    shadowed = run([sys.executable, "main.py"], tmp_path)
    assert "'router' is not a package" in shadowed.stderr
    safe = run(
        [sys.executable, "-P", "-c", "from router.router import Router; print('ours')"], tmp_path
    )
    assert safe.stdout == "ours\n", safe.stderr
