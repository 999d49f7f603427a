"""JWT authentication: tokens verified against JWKS served over real HTTP (and from files), each
way a token can be bad refused, keys rotated while requests flow."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from router.authentication import AuthenticationError, JwksSettings, JwtSettings, JwtVerifier
from router.authentication.settings import TokenSource
from router.config import ConfigError, parse_config
from router.execute.headers import subgraph_headers
from tests.support.faulty import serve_in_thread
from tests.support.jwks import AUDIENCE, ISSUER, JwksServer, SigningKey, sign


@pytest.fixture
def idp() -> Iterator[tuple[JwksServer, str]]:
    server = JwksServer([SigningKey.generate("RS256"), SigningKey.generate("ES256")])
    with serve_in_thread(server) as url:
        yield server, f"{url}/jwks.json"


def settings(url: str, **options: object) -> JwtSettings:
    jwks = JwksSettings(url, issuers=(ISSUER,), audiences=(AUDIENCE,), poll_interval=3600)
    return JwtSettings((jwks,), **options)  # type: ignore[arg-type]


async def verifier_for(url: str, **options: object) -> JwtVerifier:
    verifier = JwtVerifier(settings(url, **options))
    await verifier.start()
    return verifier


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize("algorithm", ["RS256", "PS256", "ES256", "EdDSA"])
async def test_a_good_token_gives_its_claims(algorithm: str) -> None:
    key = SigningKey.generate(algorithm)
    with serve_in_thread(JwksServer([key])) as url:
        verifier = await verifier_for(f"{url}/jwks.json")
        try:
            claims = await verifier.authenticate(bearer(key.token(scope="read:email")))
        finally:
            await verifier.close()
    assert claims is not None
    assert (claims["sub"], claims["scope"]) == ("c1", "read:email")


async def test_hs256_from_a_jwks_file(tmp_path: Path) -> None:
    key = SigningKey.generate("HS256")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [key.public_jwk]}))
    verifier = await verifier_for(path.as_uri())
    try:
        claims = await verifier.authenticate(bearer(key.token(sub="c7")))
    finally:
        await verifier.close()
    assert claims is not None and claims["sub"] == "c7"


async def test_no_token_is_anonymous(idp: tuple[JwksServer, str]) -> None:
    verifier = await verifier_for(idp[1])
    try:
        assert await verifier.authenticate({"x-other": "1"}) is None
    finally:
        await verifier.close()


def unsigned(claims: dict[str, object]) -> str:
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def part(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def hmac_token(header: dict[str, object], claims: dict[str, object], secret: bytes) -> str:
    signed = f"{part(header)}.{part(claims)}"
    mac = hmac.new(secret, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    return f"{header}.{part(claims)}.{signature}"


async def test_each_bad_token_is_refused(idp: tuple[JwksServer, str]) -> None:
    server, url = idp
    rsa, _ = server.keys
    stranger = SigningKey.generate("RS256", kid=rsa.kid)  # same kid, a key nobody configured
    now = int(time.time())
    # An HMAC token whose secret is the RSA public key (PEM): algorithm confusion.
    confused = hmac_token(
        {"alg": "HS256", "kid": rsa.kid},
        {"sub": "c1", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60},
        rsa.private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
    )
    cases = {
        "alg none": (unsigned({"sub": "c1", "iss": ISSUER, "aud": AUDIENCE}), "alg none"),
        "expired": (sign(rsa, {"exp": now - 3600, "iat": now - 7200}), "expired"),
        "not yet valid": (sign(rsa, {"nbf": now + 3600}), "not valid yet"),
        "no exp": (sign(rsa, {"exp": None}), "'exp'"),
        "wrong issuer": (sign(rsa, {"iss": "https://evil.test/"}), "issuer"),
        "wrong audience": (sign(rsa, {"aud": "another-api"}), "audience"),
        "bad signature": (tampered(rsa.token()), "signature"),
        "key from another JWKS": (stranger.token(), "signature"),
        "HS256 with the RSA key as secret": (confused, "no configured key"),
        "not a JWT": ("not-a-jwt", "well-formed"),
    }
    verifier = await verifier_for(url)
    try:
        for name, (token, reason) in cases.items():
            with pytest.raises(AuthenticationError, match=reason) as refused:
                await verifier.authenticate(bearer(token))
            assert refused.value.code == "UNAUTHENTICATED", name
            assert refused.value.status == 401, name
    finally:
        await verifier.close()


async def test_the_header_must_carry_its_prefix(idp: tuple[JwksServer, str]) -> None:
    server, url = idp
    token = server.keys[0].token()
    verifier = await verifier_for(url)
    try:
        with pytest.raises(AuthenticationError, match="Bearer <token>"):
            await verifier.authenticate({"authorization": f"Basic {token}"})
        with pytest.raises(AuthenticationError, match="no token"):
            await verifier.authenticate({"authorization": "Bearer "})
        assert await verifier.authenticate({"authorization": f"bearer {token}"}) is not None
    finally:
        await verifier.close()


async def test_a_cookie_source_after_the_header(idp: tuple[JwksServer, str]) -> None:
    server, url = idp
    sources = (TokenSource("header", "authorization", "Bearer"), TokenSource("cookie", "authz"))
    verifier = await verifier_for(url, sources=sources)
    try:
        cookie = {"cookie": f"theme=dark; authz={server.keys[1].token(sub='c9')}"}
        claims = await verifier.authenticate(cookie)
        assert claims is not None and claims["sub"] == "c9"
        with pytest.raises(AuthenticationError):
            await verifier.authenticate({"cookie": "authz=garbage"})
    finally:
        await verifier.close()


async def test_an_unknown_kid_reads_the_jwks_once_more(idp: tuple[JwksServer, str]) -> None:
    server, url = idp
    verifier = await verifier_for(url, refresh_min_interval=3600)
    try:
        assert server.requests == 1
        new = SigningKey.generate("RS256")
        server.keys.append(new)  # rotation at the IdP, long before the next poll
        claims = await verifier.authenticate(bearer(new.token(sub="c2")))
        assert claims is not None and claims["sub"] == "c2"
        assert server.requests == 2
        # made-up kids, many at once: no more reads within the interval
        made_up = [sign(new, {}, kid=f"nope-{i}") for i in range(20)]
        results = await asyncio.gather(
            *(verifier.authenticate(bearer(t)) for t in made_up), return_exceptions=True
        )
        assert all(isinstance(r, AuthenticationError) for r in results)
        assert server.requests == 2
    finally:
        await verifier.close()


async def test_concurrent_unknown_kids_share_one_read(idp: tuple[JwksServer, str]) -> None:
    server, url = idp
    verifier = await verifier_for(url, refresh_min_interval=0)
    try:
        new = SigningKey.generate("ES256")
        server.keys.append(new)
        answers = await asyncio.gather(
            *(verifier.authenticate(bearer(new.token())) for _ in range(10))
        )
        assert all(a is not None for a in answers)
        assert server.requests == 2
    finally:
        await verifier.close()


async def test_a_dropped_key_stops_verifying_even_when_cached(idp: tuple[JwksServer, str]) -> None:
    server, url = idp
    verifier = await verifier_for(url, refresh_min_interval=0)
    try:
        old = server.keys[0]
        token = old.token()
        assert await verifier.authenticate(bearer(token)) is not None  # now cached
        server.keys.remove(old)
        await verifier.keys.refresh_for("rotation")  # as a poll would
        with pytest.raises(AuthenticationError):
            await verifier.authenticate(bearer(token))
    finally:
        await verifier.close()


async def test_the_poll_picks_up_rotation() -> None:
    first, second = SigningKey.generate("RS256"), SigningKey.generate("RS256")
    server = JwksServer([first])
    with serve_in_thread(server) as url:
        jwks = JwksSettings(f"{url}/jwks.json", poll_interval=0.05)
        verifier = JwtVerifier(JwtSettings((jwks,), refresh_min_interval=3600))
        await verifier.start()
        try:
            server.keys = [second]
            for _ in range(200):
                if verifier.keys.candidates(second.kid, "RS256"):
                    break
                await asyncio.sleep(0.02)
            assert await verifier.authenticate(bearer(second.token())) is not None
            with pytest.raises(AuthenticationError):
                await verifier.authenticate(bearer(first.token()))
        finally:
            await verifier.close()


async def test_a_jwks_file_that_cannot_be_read_is_an_error(tmp_path: Path) -> None:
    from router.authentication.jwks import JwksError

    verifier = JwtVerifier(settings((tmp_path / "missing.json").as_uri()))
    with pytest.raises(JwksError, match="cannot read"):
        await verifier.start()


def test_router_yaml_reads_jwt_in_apollo_routers_shape() -> None:
    config = parse_config(
        """
authentication:
  router:
    jwt:
      jwks:
        - url: https://idp.test/.well-known/jwks.json
          issuers: [https://idp.test/]
          audiences: [orders-api]
          algorithms: [RS256, ES256]
          poll_interval: 30s
        - url: file:///etc/router/jwks.json
      header_name: X-Auth
      header_value_prefix: Token
      sources: [{ type: cookie, name: authz }]
      leeway: 5s
"""
    )
    assert config.jwt is not None
    first, second = config.jwt.jwks
    assert (first.issuers, first.audiences, first.algorithms) == (
        ("https://idp.test/",),
        ("orders-api",),
        ("RS256", "ES256"),
    )
    assert (first.poll_interval, second.poll_interval) == (30.0, 60.0)
    assert config.jwt.sources == (
        TokenSource("header", "x-auth", "Token"),
        TokenSource("cookie", "authz"),
    )
    assert config.jwt.leeway == 5.0
    assert parse_config("").jwt is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("authentication: { router: { jwt: { jwks: [] } } }", "jwks: must be a list"),
        ("authentication: { router: { jwt: { jwks: [{ issuers: [a] }] } } }", "url: is required"),
        ("authentication: { router: { jwt: { jwks: [{ url: ftp://x }] } } }", "https://"),
        (
            "authentication: { router: { jwt: { jwks: [{ url: 'https://x', algorithms: [none] }] } } }",
            "'none' is not one of",
        ),
        ("authentication: { router: { jwt: { jwks: [{ url: 'https://x', kid: 1 }] } } }", "kid"),
        ("authentication: { router: { oauth: {} } }", "oauth"),
    ],
)
def test_bad_jwt_settings_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_config(text)


RULES = """
headers:
  all:
    request:
      - propagate: { matching: "x-.*" }
      - propagate: { named: x-other, rename: x-customer-id }
      - insert: { name: x-customer-id, from_claim: sub }
      - insert: { name: x-org, from_claim: org.id }
      - insert: { name: x-scopes, from_claim: scope }
"""


def test_claims_become_headers_and_the_client_cannot_send_them() -> None:
    config = parse_config(RULES)
    incoming = {"x-customer-id": "c-evil", "x-other": "c-evil-too", "x-tenant": "t1"}
    claims = {"sub": "c1", "org": {"id": 7}, "scope": ["read", "write"]}
    assert subgraph_headers(config, "orders", incoming, claims) == {
        "x-other": "c-evil-too",  # as itself, by `matching`; its rename to x-customer-id lost
        "x-tenant": "t1",
        "x-customer-id": "c1",
        "x-org": "7",
        "x-scopes": "read write",
    }
    # anonymous: the header is simply not there, whatever the client sent
    assert subgraph_headers(config, "orders", incoming, None) == {
        "x-other": "c-evil-too",
        "x-tenant": "t1",
    }


def test_an_insert_rule_has_a_value_or_a_claim() -> None:
    with pytest.raises(ConfigError, match="one of value or from_claim"):
        parse_config("headers: { all: { request: [ { insert: { name: x-a } } ] } }")
    with pytest.raises(ConfigError, match="one of value or from_claim"):
        parse_config(
            "headers: { all: { request: [ { insert: { name: x-a, value: v, from_claim: sub } } ] } }"
        )


async def test_the_development_token_verifies_against_the_development_jwks(tmp_path: Path) -> None:
    keys = tmp_path / "dev-keys"
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "router",
            "token",
            "--sub",
            "c3",
            "--scope",
            "customers:email",
            "--keys",
            str(keys),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    printed = done.stdout.strip()
    assert (keys / "dev-signing-key.pem").stat().st_mode & 0o077 == 0
    jwks = JwksSettings((keys / "dev-jwks.json").as_uri(), issuers=("pyfederation-dev",))
    verifier = JwtVerifier(JwtSettings((jwks,)))
    await verifier.start()
    try:
        claims = await verifier.authenticate(bearer(printed))
    finally:
        await verifier.close()
    assert claims is not None and (claims["sub"], claims["scope"]) == ("c3", "customers:email")
