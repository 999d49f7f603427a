"""The deployment files under deploy/ (Dockerfiles, compose.yaml, Kubernetes manifests).

No Docker engine and no cluster here: the files are read, and every command and environment
variable in them is checked against the code itself. Service commands go through the services'
real `parse_args`; router commands through `router.__main__.main` with its command functions
replaced by a recorder (so argparse parses them for real and nothing is served). Environment
variables are checked by handing the code an environment that records what it looks up.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url

import router.__main__ as router_cli
from customer_subgraph import Settings as CustomerSettings
from customer_subgraph import create_app as create_customer_app
from customer_subgraph.settings import parse_args as parse_customer_args
from order_subgraph import Settings as OrderSettings
from order_subgraph import create_app as create_order_app
from order_subgraph.settings import parse_args as parse_order_args
from router.authentication import AuthenticationError, JwtVerifier
from router.authentication.development import ISSUER as DEV_ISSUER
from router.authentication.development import DevelopmentKeys
from router.compose import compose_config, load_config
from router.config import Config, ConfigError
from router.config import load_config as load_router_config
from router.execute.headers import subgraph_headers
from router.router import Router
from router.server.app import RouterApp
from router.supergraph.load import load_supergraph
from subgraph_kit.caller import ANONYMOUS as ANONYMOUS_CALLER
from subgraph_kit.caller import CUSTOMER_ID_HEADER, SCOPES_HEADER, STAFF_SCOPE, Caller
from subgraph_kit.db import async_url
from subgraph_kit.service import migrate_parser
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.paths import REPO

ROOT = REPO
DEPLOY = ROOT / "deploy"
DOCKER = DEPLOY / "docker"
K8S = DEPLOY / "kubernetes"
SUPERGRAPH_YAML = ROOT / "supergraph.yaml"

# image repository → the Dockerfile it is built from
IMAGES = {
    "pyfederation/customers": DOCKER / "customers.Dockerfile",
    "pyfederation/orders": DOCKER / "orders.Dockerfile",
    "pyfederation/router": DOCKER / "router.Dockerfile",
}
SERVICE_PARSERS: dict[str, Callable[..., tuple[Any, bool]]] = {
    "customer_subgraph": parse_customer_args,
    "order_subgraph": parse_order_args,
}
ENV_PREFIX = {"customer_subgraph": "CUSTOMERS_", "order_subgraph": "ORDERS_"}
# what each port serves: the services' defaults and the router's documented port
PORTS = {"customer_subgraph": 4001, "order_subgraph": 4002, "router": 4000}
HEALTH = {"customer_subgraph": "ok", "order_subgraph": "ok", "router": "UP"}


# --- reading the files ----------------------------------------------------------------------


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@dataclass(frozen=True)
class Dockerfile:
    path: Path
    instructions: tuple[tuple[str, str], ...]  # (INSTRUCTION, its text)

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        lines: list[str] = []
        pending = ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            lines.append(pending + line)
            pending = ""
        assert not pending, f"{path.name}: a line continuation runs off the end"
        instructions = []
        for line in lines:
            name, _, rest = line.partition(" ")
            instructions.append((name.upper(), rest.strip()))
        return cls(path, tuple(instructions))

    def all(self, name: str) -> list[str]:
        return [rest for instruction, rest in self.instructions if instruction == name]

    def last(self, name: str) -> str:
        found = self.all(name)
        assert found, f"{self.path.name} has no {name}"
        return found[-1]

    def exec_form(self, name: str) -> list[str]:
        """CMD and ENTRYPOINT must be JSON arrays: a shell form would not get signals."""
        value = json.loads(self.last(name))
        assert isinstance(value, list), f"{self.path.name}: {name} is not in exec form"
        assert all(isinstance(item, str) for item in value)
        return value

    def command(self) -> list[str]:
        return self.exec_form("ENTRYPOINT") + self.exec_form("CMD")

    def healthcheck(self) -> list[str]:
        options, _, command = self.last("HEALTHCHECK").partition("CMD ")
        assert options.strip().startswith("--") or not options.strip()
        return list(json.loads(command))

    def build_args(self) -> dict[str, str]:
        args = {}
        for text in self.all("ARG"):
            name, _, default = text.partition("=")
            args[name] = default
        return args

    def copied(self) -> list[str]:
        """Paths (in the build context) that COPY instructions bring into the image."""
        sources = []
        for text in self.all("COPY"):
            parts = [p for p in shlex.split(text) if not p.startswith("--")]
            sources += [p.removeprefix("./").rstrip("/") for p in parts[:-1]]
        return sources

    def source_of(self, image_path: str) -> Path:
        """The build-context file a COPY puts at `image_path` (absolute, or under WORKDIR)."""
        workdir = PurePosixPath(self.last("WORKDIR"))
        target = workdir / image_path
        for text in self.all("COPY"):
            *sources, destination = [p for p in shlex.split(text) if not p.startswith("--")]
            into = workdir / destination
            for source in sources:
                folder = destination.endswith("/") or len(sources) > 1
                if (into / PurePosixPath(source).name if folder else into) == target:
                    return ROOT / source
        raise AssertionError(f"{self.path.name}: no COPY puts a file at {target}")

    def runs(self, program: str) -> list[list[str]]:
        """Each `program ...` command of the RUN instructions, as argv (split at && and ;)."""
        found = []
        for text in self.all("RUN"):
            for part in re.split(r"&&|;", text):
                argv = shlex.split(part)
                if argv[: len(program.split())] == program.split():
                    found.append(argv)
        return found


def dockerfiles() -> dict[str, Dockerfile]:
    return {image: Dockerfile.read(path) for image, path in IMAGES.items()}


def dockerfile_for(image: str) -> Dockerfile:
    repository, _, tag = image.rpartition(":")
    assert tag and repository in IMAGES, f"{image}: not one of the images built in deploy/docker"
    return Dockerfile.read(IMAGES[repository])


def compose_file() -> dict[str, Any]:
    (doc,) = load_docs(DEPLOY / "compose.yaml")
    return doc


class MissingVariable(Exception):
    """A ${NAME:?message} of compose.yaml whose variable is not set: `up` stops with message."""


def compose_env(value: str, environ: Mapping[str, str] = {}) -> str:
    """Docker compose's interpolation of ${NAME}, ${NAME:-default} and ${NAME:?message}."""

    def replace(match: re.Match[str]) -> str:
        name, kind, text = match.group(1), match.group(2), match.group(3)
        if environ.get(name):
            return environ[name]
        if kind == "?":
            raise MissingVariable(f"{name}: {text}")
        return text if kind == "-" else ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-?])([^}]*))?\}", replace, value)


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += load_docs(path)
    return docs


def k8s(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        doc
        for doc in manifests()
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]


def example_secret() -> dict[str, str]:
    (secret,) = k8s("Secret", "pyfederation-databases")
    return dict(secret["stringData"])


def pod_containers(deployment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's environment, with Secret values taken from secret.example.yaml and
    ConfigMap values from the manifests (a reference to a missing key fails here)."""
    env = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif ref := item["valueFrom"].get("secretKeyRef"):
            assert ref["name"] == "pyfederation-databases", item
            env[item["name"]] = example_secret()[ref["key"]]
        else:
            ref = item["valueFrom"]["configMapKeyRef"]
            (config_map,) = k8s("ConfigMap", ref["name"])
            env[item["name"]] = config_map["data"][ref["key"]]
    return env


# --- the real command lines -----------------------------------------------------------------


class RecordingEnviron(dict[str, str]):
    """An environment that remembers every variable the code looked up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def help_options(show_help: Callable[[], object]) -> set[str]:
    """The long options a parser's --help lists: the exact spellings it documents."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        show_help()
    assert exit_.value.code == 0
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", out.getvalue()))


def assert_exact_options(argv: Sequence[str], known: set[str], where: str) -> None:
    # argparse accepts unambiguous prefixes (--port for --port-number); a deployment must not
    # depend on that, so every flag must be spelled exactly as the parser defines it.
    for token in argv:
        if token.startswith("--"):
            assert token.split("=", 1)[0] in known, f"{where}: {token} is not an option of {known}"


@dataclass
class Parsed:
    module: str
    options: Any  # the service's Settings, or the router's argparse Namespace
    command: str | None = None  # the router's subcommand
    env_read: frozenset[str] = frozenset()


def parse_command(argv: Sequence[str], environ: Mapping[str, str], where: str) -> Parsed:
    """Parse `python -m <module> ARGS` with the module's real argument parser."""
    assert list(argv[:2]) == ["python", "-m"], f"{where}: {argv} does not run `python -m`"
    module, args = argv[2], list(argv[3:])
    if module in SERVICE_PARSERS and args[:1] == ["migrate"]:
        recorder = RecordingEnviron(environ)
        parser = migrate_parser(module, SERVICE_PARSERS[module]([], recorder)[0])
        assert_exact_options(args[1:], help_options(lambda: parser.parse_args(["--help"])), where)
        try:
            options = parser.parse_args(args[1:])
        except SystemExit as exc:
            pytest.fail(f"{where}: `python -m {module} migrate` refuses {args} (exit {exc.code})")
        return Parsed(module, options, "migrate", frozenset(recorder.read))
    if module in SERVICE_PARSERS:
        parse = SERVICE_PARSERS[module]
        assert_exact_options(args, help_options(lambda: parse(["--help"], {})), where)
        recorder = RecordingEnviron(environ)
        try:
            settings, print_schema = parse(args, recorder)
        except SystemExit as exc:
            pytest.fail(f"{where}: `python -m {module}` refuses {args} (exit {exc.code})")
        assert not print_schema, f"{where}: the command prints the schema instead of serving"
        return Parsed(module, settings, env_read=frozenset(recorder.read))
    assert module == "router", f"{where}: unknown module {module}"
    assert args and not args[0].startswith("-"), f"{where}: no router subcommand in {args}"
    assert_exact_options(args, help_options(lambda: router_cli.main([args[0], "--help"])), where)
    return Parsed(module, *run_router_cli(args, where))


def run_router_cli(args: list[str], where: str) -> tuple[Any, str]:
    """`python -m router ARGS` parsed by the router's own `main`, whose command functions are
    replaced by a recorder. A renamed command function fails here (monkeypatch raises), and
    uvicorn.run is a guard in case `main` ever serves without going through them."""
    import uvicorn

    calls: list[Any] = []

    def record(args: Any) -> int:
        calls.append(args)
        return 0

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the router tried to serve during a command-line check")

    with pytest.MonkeyPatch.context() as patch:
        for name in ("_serve", "_plan", "_compose", "_check"):
            patch.setattr(router_cli, name, record)
        patch.setattr(uvicorn, "run", refuse)
        try:
            status = router_cli.main(args)
        except SystemExit as exc:
            pytest.fail(f"{where}: `python -m router` refuses {args} (exit {exc.code})")
    assert status == 0 and len(calls) == 1
    return calls[0], calls[0].command


def check_service_env(parsed: Parsed, env: Mapping[str, str], where: str) -> None:
    """Every variable a deployment sets for a service is one the service reads, and the
    settings it produces are the ones the deployment means."""
    prefix = ENV_PREFIX[parsed.module]
    ours = {name for name in env if name.startswith(prefix)}
    assert ours == set(env), f"{where}: {set(env) - ours} are not {prefix}* variables"
    assert ours <= parsed.env_read, f"{where}: the service never reads {ours - parsed.env_read}"
    settings = parsed.options
    database_url = env[f"{prefix}DATABASE_URL"]
    assert settings.database_url == database_url
    assert async_url(database_url).startswith("postgresql+asyncpg://"), database_url
    url = make_url(database_url)
    assert url.username and url.password and url.host and url.database and url.port == 5432
    assert settings.seed is (env[f"{prefix}SEED"] != "0")
    assert settings.migrate is (env.get(f"{prefix}MIGRATE", "1") != "0")
    if parsed.module == "order_subgraph":
        assert settings.customers_url == env["ORDERS_CUSTOMERS_URL"]


def check_serving(parsed: Parsed, where: str) -> int:
    """The command serves on all interfaces at its service's port; returns the port."""
    if parsed.module == "router":
        assert parsed.command == "serve", f"{where}: the router command is {parsed.command}"
    assert parsed.options.host == "0.0.0.0", f"{where}: listens on {parsed.options.host}"
    assert parsed.options.port == PORTS[parsed.module], where
    return int(parsed.options.port)


def routing_env_names() -> set[str]:
    """The variables supergraph.yaml reads, as its own loader looks them up."""
    recorder = RecordingEnviron({})
    load_config(SUPERGRAPH_YAML, environ=recorder)
    return recorder.read


def check_routing(environ: Mapping[str, str], where: str) -> dict[str, str]:
    """The routing URLs supergraph.yaml gives for this environment; all of it must be read."""
    recorder = RecordingEnviron(environ)
    config = load_config(SUPERGRAPH_YAML, environ=recorder)
    assert set(environ) <= recorder.read, f"{where}: {set(environ) - recorder.read} never read"
    urls = {sub.name: sub.routing_url for sub in config.subgraphs}
    assert set(urls) == {"customers", "orders"}
    assert set(urls.values()) <= set(environ.values()), f"{where}: {urls} are not all from env"
    return urls


# --- the router's configuration -------------------------------------------------------------

# an identity provider, as a deployment names it
IDP = {
    "ROUTER_JWKS_URL": "https://idp.example.com/.well-known/jwks.json",
    "ROUTER_JWT_ISSUER": "https://idp.example.com/",
}


def router_config(parsed: Parsed, env: Mapping[str, str], where: str) -> Config:
    """The router.yaml a deployed router serves with (the image's file, from the COPY that puts
    it where `--config` names), read by the router's own reader with the deployment's
    environment: every variable the deployment sets is read, the JWT settings come from its
    identity provider, and the subgraphs get the token's subject and scopes as the headers the
    services trust, never a client's own copy."""
    assert parsed.command == "serve", where
    served = parsed.options.config
    assert served is not None, (
        f"{where}: no router.yaml, so no JWT and every protected field refused"
    )
    source = dockerfile_for("pyfederation/router:0.1.0").source_of(str(served))
    recorder = RecordingEnviron(env)
    config = load_router_config(source, environ=recorder)
    assert set(env) <= recorder.read, f"{where}: {set(env) - recorder.read} are never read"
    assert config.jwt is not None, f"{where}: {source.name} has no authentication.router.jwt"
    (jwks,) = config.jwt.jwks
    assert (jwks.url, jwks.issuers) == (env["ROUTER_JWKS_URL"], (env["ROUTER_JWT_ISSUER"],))
    forged = {CUSTOMER_ID_HEADER: "2", SCOPES_HEADER: STAFF_SCOPE}
    claims = {"sub": "7", "scope": "read:email"}
    for service in ("customers", "orders"):
        sent = subgraph_headers(config, service, forged, claims)
        assert Caller.from_headers(sent) == Caller("7", frozenset({"read:email"})), (where, sent)
        anonymous = subgraph_headers(config, service, forged, None)
        assert Caller.from_headers(anonymous) == ANONYMOUS_CALLER, (where, anonymous)
    # and the production posture
    assert not (config.introspection or config.sandbox or config.expose_query_plan), where
    return config


def test_the_deployed_router_yaml_needs_its_identity_provider() -> None:
    for missing in IDP:
        environ = {name: value for name, value in IDP.items() if name != missing}
        with pytest.raises(ConfigError, match=missing):
            load_router_config(DEPLOY / "router.yaml", environ=environ)


async def test_the_deployed_router_yaml_verifies_its_providers_tokens(tmp_path: Path) -> None:
    """A token signed by the provider's key and naming its issuer is accepted; the same token
    under another issuer is refused (a key file stands in for the provider's JWKS URL)."""
    keys = DevelopmentKeys(tmp_path).ensure()
    token = keys.token("7", ["read:email"])
    headers = {"authorization": f"Bearer {token}"}
    for issuer, accepted in ((DEV_ISSUER, True), ("https://idp.example.com/", False)):
        environ = {"ROUTER_JWKS_URL": keys.jwks_file.as_uri(), "ROUTER_JWT_ISSUER": issuer}
        config = load_router_config(DEPLOY / "router.yaml", environ=environ)
        assert config.jwt is not None
        verifier = JwtVerifier(config.jwt)
        try:
            if accepted:
                claims = await verifier.authenticate(headers)
                assert claims is not None and claims["sub"] == "7"
            else:
                with pytest.raises(AuthenticationError):
                    await verifier.authenticate(headers)
        finally:
            await verifier.close()


# --- every file parses ----------------------------------------------------------------------


def test_every_yaml_file_parses() -> None:
    files = yaml_files()
    names = {p.relative_to(DEPLOY).as_posix() for p in files}
    assert {"compose.yaml", "kubernetes/kustomization.yaml", "kubernetes/router.yaml"} <= names
    for path in files:
        docs = load_docs(path)
        assert docs, f"{path} is empty"
        assert all(isinstance(doc, dict) for doc in docs), path


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    (kustomization,) = load_docs(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present - {"secret.example.yaml"}
    (namespace,) = k8s("Namespace")
    assert kustomization["namespace"] == namespace["metadata"]["name"]
    assert example_secret() and all(
        doc["metadata"].get("namespace") == namespace["metadata"]["name"] for doc in k8s("Secret")
    )


# --- Dockerfiles ----------------------------------------------------------------------------


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile_builds_the_project_as_a_non_root_user(image: str) -> None:
    dockerfile = dockerfiles()[image]
    assert dockerfile.all("FROM") == ["python:3.11-slim"]
    # the router's image installs the router's distribution, a service's the demo services' and
    # the router's they depend on
    folder, install = (
        (".", "pip install .")
        if image == "pyfederation/router"
        else ("demo", "pip install . ./demo")
    )
    assert dockerfile.runs(install), f"the image runs `{install}`"
    # what that `pip install` needs: the metadata, the readme it names, and every package it ships
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())
    setuptools = project["tool"]["setuptools"]
    if image == "pyfederation/router":
        packages = {p.rstrip("*") for p in setuptools["packages"]["find"]["include"]}
    else:  # the demo services' packages sit one folder up, at the repository's top level
        assert setuptools["package-dir"] == {"": ".."}
        packages = {p.split(".")[0] for p in setuptools["packages"]}  # subpackages come along
    metadata = {f"{folder}/pyproject.toml", f"{folder}/{project['project']['readme']}"}
    copied = set(dockerfile.copied())
    assert {m.removeprefix("./") for m in metadata} | packages <= copied
    if image == "pyfederation/router":
        assert not {"customer_subgraph", "order_subgraph", "subgraph_kit"} & copied
    assert all((ROOT / source).exists() for source in copied), copied
    # the last USER is numeric (Kubernetes' runAsNonRoot can check it) and not root
    user = dockerfile.last("USER").split(":")[0]
    assert user.isdigit() and int(user) != 0
    last_user = max(i for i, (name, _) in enumerate(dockerfile.instructions) if name == "USER")
    assert all(name != "RUN" for name, _ in dockerfile.instructions[last_user:])


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile_command_parses_and_matches_expose_and_healthcheck(image: str) -> None:
    dockerfile = dockerfiles()[image]
    parsed = parse_command(dockerfile.command(), {}, dockerfile.path.name)
    port = check_serving(parsed, dockerfile.path.name)
    assert dockerfile.all("EXPOSE") == [str(port)]
    check = dockerfile.healthcheck()
    assert check[:2] == ["python", "-c"], "python:3.11-slim has no curl: probe with Python"
    (url,) = re.findall(r"https?://[^'\"\s]+", check[2])
    assert urlsplit(url)[1:3] == (f"127.0.0.1:{port}", "/health")
    assert "--interval=" in dockerfile.last("HEALTHCHECK")


def test_router_image_composes_its_supergraph_for_the_build_args(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dockerfile = dockerfiles()["pyfederation/router"]
    build_args = dockerfile.build_args()
    assert set(build_args) == routing_env_names() == {"CUSTOMERS_ROUTING_URL", "ORDERS_ROUTING_URL"}
    urls = check_routing(build_args, "router.Dockerfile ARG")
    assert urls == {
        "customers": "http://customers:4001/graphql",
        "orders": "http://orders:4002/graphql",
    }
    (compose_run,) = dockerfile.runs("python -m router compose")
    parsed = parse_command(compose_run, {}, "router.Dockerfile RUN")
    assert parsed.command == "compose"
    workdir = PurePosixPath(dockerfile.last("WORKDIR"))
    assert workdir / str(parsed.options.config) == workdir / "supergraph.yaml"
    assert "supergraph.yaml" in dockerfile.copied()
    # with the schema files it names (the files alone: the services' code is not in this image)
    schema_files = {str(s.file.relative_to(ROOT)) for s in load_config(SUPERGRAPH_YAML).subgraphs}
    assert schema_files <= set(dockerfile.copied())
    # the RUN writes the very file the CMD serves
    served = parse_command(dockerfile.command(), {}, "router.Dockerfile CMD").options.supergraph
    assert parsed.options.output == served
    # it serves with the router.yaml it carries (given the identity provider at run time)
    router_config(parse_command(dockerfile.command(), {}, "router.Dockerfile CMD"), IDP, "CMD")
    # and composing supergraph.yaml with these values routes to them
    for name, value in build_args.items():
        monkeypatch.setenv(name, value)
    supergraph = load_supergraph(compose_config(SUPERGRAPH_YAML))
    assert {g.name: g.url for g in supergraph.graphs.values()} == urls


# --- docker compose -------------------------------------------------------------------------


def compose_services() -> dict[str, dict[str, Any]]:
    return dict(compose_file()["services"])


def compose_app(name: str, environ: Mapping[str, str] = IDP) -> tuple[Parsed, Dockerfile]:
    """The service's command parsed with its environment (compose's own interpolated with
    `environ`, the shell's or deploy/.env's)."""
    service = compose_services()[name]
    dockerfile = dockerfile_for(service["image"])
    assert (ROOT / service["build"]["dockerfile"]).resolve() == dockerfile.path
    assert (DEPLOY / service["build"]["context"]).resolve() == ROOT
    argv = dockerfile.exec_form("ENTRYPOINT") + (
        service["command"] if "command" in service else dockerfile.exec_form("CMD")
    )
    env = {k: compose_env(str(v), environ) for k, v in service.get("environment", {}).items()}
    return parse_command(argv, env, f"compose.yaml {name}"), dockerfile


def test_compose_databases_are_postgres_16_with_volumes_and_healthchecks() -> None:
    doc = compose_file()
    services = compose_services()
    databases = {
        name: s for name, s in services.items() if s.get("image", "").startswith("postgres")
    }
    assert set(databases) == {"customers-db", "orders-db"}
    for name, db in databases.items():
        assert db["image"] == "postgres:16"
        (volume,) = db["volumes"]
        source, target = volume.split(":")
        assert source in doc["volumes"] and target == "/var/lib/postgresql/data"
        test = " ".join(db["healthcheck"]["test"])
        env = db["environment"]
        assert f"pg_isready -U {env['POSTGRES_USER']} -d {env['POSTGRES_DB']}" in test, name


def test_compose_services_parse_and_reach_their_databases_and_each_other() -> None:
    services = compose_services()
    runs: dict[str, tuple[str, int]] = {}  # module → (compose service, port)
    for name in ("customers", "orders", "router"):
        parsed, _ = compose_app(name)
        runs[parsed.module] = (name, check_serving(parsed, f"compose.yaml {name}"))
        if parsed.module == "router":
            continue
        env = {k: compose_env(str(v)) for k, v in services[name]["environment"].items()}
        check_service_env(parsed, env, f"compose.yaml {name}")
        # the database URL is the one its PostgreSQL container is set up with
        url = make_url(env[f"{ENV_PREFIX[parsed.module]}DATABASE_URL"])
        db = services[str(url.host)]
        db_env = {k: compose_env(str(v)) for k, v in db["environment"].items()}
        assert (url.username, url.password, url.database) == (
            db_env["POSTGRES_USER"],
            db_env["POSTGRES_PASSWORD"],
            db_env["POSTGRES_DB"],
        )
        assert str(url.host) in services[name]["depends_on"]
    assert set(runs) == {"customer_subgraph", "order_subgraph", "router"}

    def url_of(module: str) -> str:
        service, port = runs[module]
        return f"http://{service}:{port}/graphql"

    assert services["orders"]["environment"]["ORDERS_CUSTOMERS_URL"] == url_of("customer_subgraph")
    routing = check_routing(services["router"]["build"]["args"], "compose.yaml router")
    assert routing == {"customers": url_of("customer_subgraph"), "orders": url_of("order_subgraph")}
    assert services["router"]["ports"] == ["4000:4000"]


def test_compose_router_serves_with_jwt_from_the_identity_provider_it_is_given() -> None:
    router = compose_services()["router"]
    environment = {name: str(value) for name, value in router["environment"].items()}
    env = {name: compose_env(value, IDP) for name, value in environment.items()}
    parsed, _ = compose_app("router", IDP)
    router_config(parsed, env, "compose.yaml router")
    # `up` refuses to start without them, saying what is missing
    for name, value in environment.items():
        with pytest.raises(MissingVariable, match=name):
            compose_env(value, {other: v for other, v in IDP.items() if other != name})


def test_compose_depends_on_waits_for_health() -> None:
    services = compose_services()
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, (name, dependency)
            target = services[dependency]
            if "healthcheck" not in target:  # then its image's HEALTHCHECK is the check
                assert dockerfile_for(target["image"]).all("HEALTHCHECK"), dependency
    assert set(services["router"]["depends_on"]) == {"customers", "orders"}
    assert set(services["orders"]["depends_on"]) == {"orders-db", "customers"}


# --- Kubernetes -----------------------------------------------------------------------------


def deployment_of(module: str) -> tuple[dict[str, Any], dict[str, Any], Parsed]:
    """The Deployment whose main container runs `python -m <module>`, that container, and its
    command as parsed by the real CLI."""
    found = []
    for deployment in k8s("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            parsed = k8s_command(deployment, container)
            if parsed.module == module:
                found.append((deployment, container, parsed))
    assert len(found) == 1, f"{len(found)} Deployments run {module}"
    return found[0]


def k8s_command(deployment: dict[str, Any], container: dict[str, Any]) -> Parsed:
    dockerfile = dockerfile_for(container["image"])
    entrypoint = container.get("command", dockerfile.exec_form("ENTRYPOINT"))
    argv = entrypoint + [str(a) for a in container.get("args", dockerfile.exec_form("CMD"))]
    where = f"{deployment['metadata']['name']}/{container['name']}"
    return parse_command(argv, container_env(container), where)


def service_url(module: str) -> str:
    """http://<Service>:<port>/graphql of the Service in front of the module's pods."""
    deployment, container, _ = deployment_of(module)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    (service,) = [s for s in k8s("Service") if s["spec"]["selector"].items() <= labels.items()]
    (port,) = service["spec"]["ports"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port["targetPort"] in ports or port["targetPort"] in ports.values()
    return f"http://{service['metadata']['name']}:{port['port']}/graphql"


def test_k8s_has_a_deployment_and_service_per_component() -> None:
    for module in PORTS:
        deployment, container, parsed = deployment_of(module)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        port = check_serving(parsed, deployment["metadata"]["name"])
        assert [p["containerPort"] for p in container["ports"]] == [port]
        service_url(module)  # exactly one Service selects these pods, on a declared port


def test_k8s_commands_and_env_match_the_code() -> None:
    for module in ("customer_subgraph", "order_subgraph"):
        deployment, container, parsed = deployment_of(module)
        check_service_env(parsed, container_env(container), deployment["metadata"]["name"])
        for item in container["env"]:
            if item["name"].endswith("DATABASE_URL"):
                assert "value" not in item and "secretKeyRef" in item["valueFrom"], item
    _, orders, _ = deployment_of("order_subgraph")
    assert container_env(orders)["ORDERS_CUSTOMERS_URL"] == service_url("customer_subgraph")


def test_k8s_subgraphs_migrate_in_an_init_container_and_serve_without() -> None:
    for module in ("customer_subgraph", "order_subgraph"):
        deployment, container, parsed = deployment_of(module)
        (init,) = deployment["spec"]["template"]["spec"]["initContainers"]
        assert init["image"] == container["image"]
        migrate = k8s_command(deployment, init)
        assert (migrate.module, migrate.command, migrate.options.sql) == (module, "migrate", False)
        # the same database, from the same Secret key, as the server's
        url = f"{ENV_PREFIX[module]}DATABASE_URL"
        assert migrate.options.database_url == parsed.options.database_url
        (init_url,) = init["env"]
        (server_url,) = [item for item in container["env"] if item["name"] == url]
        assert init_url == server_url
        assert parsed.options.migrate is False  # the server only checks the revision


def test_compose_subgraphs_migrate_at_start_up() -> None:
    for name in ("customers", "orders"):
        parsed, _ = compose_app(name)
        assert parsed.options.migrate is True, name


def test_k8s_router_composes_its_supergraph_for_the_cluster() -> None:
    deployment, container, parsed = deployment_of("router")
    (init,) = deployment["spec"]["template"]["spec"]["initContainers"]
    composed = k8s_command(deployment, init)
    assert composed.command == "compose"
    # it reads the image's supergraph.yaml, with the ConfigMap's routing URLs
    router_dockerfile = dockerfile_for(init["image"])
    workdir = PurePosixPath(router_dockerfile.last("WORKDIR"))
    assert PurePosixPath(composed.options.config) == workdir / "supergraph.yaml"
    env = container_env(init)
    assert set(env) == routing_env_names()
    assert all("configMapKeyRef" in item["valueFrom"] for item in init["env"])
    routing = check_routing(env, "router init container")
    assert routing == {
        "customers": service_url("customer_subgraph"),
        "orders": service_url("order_subgraph"),
    }
    # it writes into a volume the router container mounts, at the path the router serves
    output = PurePosixPath(composed.options.output)
    served = PurePosixPath(parsed.options.supergraph)
    assert output == served

    def mount_of(c: dict[str, Any]) -> tuple[str, str]:
        (mount,) = [m for m in c["volumeMounts"] if output.is_relative_to(m["mountPath"])]
        return mount["name"], mount["mountPath"]

    assert mount_of(init) == mount_of(container)
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mount_of(init)[0]]


def test_k8s_router_serves_with_jwt_from_its_config_map_and_drains_in_its_grace() -> None:
    deployment, container, parsed = deployment_of("router")
    env = container_env(container)
    config = router_config(parsed, env, "router")
    for name in IDP:
        (item,) = [item for item in container["env"] if item["name"] == name]
        assert "configMapKeyRef" in item["valueFrom"], item
    # readiness 503 while the endpoints update, and time for its requests after
    assert config.shutdown_delay > 0, "no time for the endpoints to update"
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > config.shutdown_delay + config.shutdown_timeout, grace


def test_k8s_router_scales_with_probes_and_resources() -> None:
    deployment, container, _ = deployment_of("router")
    assert deployment["spec"]["replicas"] >= 2
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/health"
        assert get["port"] in {p.get("name") for p in container["ports"]} | {4000}
    (budget,) = k8s("PodDisruptionBudget", "router")
    assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_k8s_pods_run_as_the_image_user_with_resources_and_readiness() -> None:
    for module in PORTS:
        deployment, container, _ = deployment_of(module)
        pod = deployment["spec"]["template"]["spec"]
        user = dockerfile_for(container["image"]).last("USER").split(":")[0]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == int(user)
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        for each in pod_containers(deployment):
            resources = each["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), each["name"]
            assert "memory" in resources["limits"], each["name"]


# --- the health endpoints the checks and probes use -----------------------------------------


async def test_health_endpoints_answer_as_the_probes_expect(tmp_path: Path) -> None:
    paths = {
        urlsplit(re.findall(r"http://[^'\"]+", d.healthcheck()[2])[0]).path
        for d in dockerfiles().values()
    }
    paths |= {
        c[probe]["httpGet"]["path"]
        for d in k8s("Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
        for probe in ("readinessProbe", "livenessProbe")
        if "httpGet" in c[probe]
    }
    assert paths == {"/health"}
    apps = {
        "customer_subgraph": create_customer_app(
            CustomerSettings(database_url=f"sqlite:///{tmp_path}/customers.sqlite3", seed=False)
        ),
        "order_subgraph": create_order_app(
            OrderSettings(database_url=f"sqlite:///{tmp_path}/orders.sqlite3", seed=False)
        ),
        "router": RouterApp(
            Router.from_sdl((ROOT / "supergraph.graphql").read_text(), FakeSubgraphs())
        ),
    }
    for module, app in apps.items():
        async with LifespanManager(app) as manager:  # type: ignore[arg-type]
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                response = await http.get("/health")
        assert (response.status_code, response.json().get("status")) == (200, HEALTH[module])


def test_k8s_services_drain_within_their_grace_period() -> None:
    """Each service keeps listening `shutdown_delay` seconds after SIGTERM while its pod leaves
    the endpoints, then waits up to `shutdown_timeout` for its requests: Kubernetes must not
    kill it before (router/server/drain.py)."""
    for module in ("customer_subgraph", "order_subgraph"):
        deployment, _, parsed = deployment_of(module)
        settings = parsed.options
        assert settings.shutdown_delay > 0, (module, "no time for the endpoints to update")
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > settings.shutdown_delay + settings.shutdown_timeout, (module, grace)
