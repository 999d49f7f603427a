"""An identity provider for tests: signing keys of each kind, a real JWKS server over HTTP
(keys can be rotated while it serves; it counts its requests), and tokens signed by those keys."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ISSUER = "https://idp.test/"
AUDIENCE = "orders-api"


@dataclass
class SigningKey:
    algorithm: str
    kid: str
    private: Any
    public_jwk: dict[str, Any]

    @classmethod
    def generate(cls, algorithm: str, kid: str | None = None) -> SigningKey:
        kid = kid or f"{algorithm.lower()}-{uuid.uuid4().hex[:8]}"
        private: Any
        if algorithm.startswith(("RS", "PS")):
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
        elif algorithm == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
            public = json.loads(ECAlgorithm.to_jwk(private.public_key()))
        elif algorithm == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
            public = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
        elif algorithm.startswith("HS"):
            private = uuid.uuid4().hex.encode() * 2
            public = {
                "kty": "oct",
                "k": jwt.utils.base64url_encode(private).decode(),
            }
        else:
            raise ValueError(algorithm)
        public.update({"kid": kid, "alg": algorithm, "use": "sig"})
        return cls(algorithm, kid, private, public)

    def token(self, **claims: Any) -> str:
        return sign(self, claims)


def sign(
    key: SigningKey,
    claims: dict[str, Any],
    *,
    algorithm: str | None = None,
    kid: str | None = None,
    no_kid: bool = False,
    defaults: bool = True,
) -> str:
    """A token signed by `key`, its header naming `kid` (the key's own by default); claims default
    to a good subject, issuer and audience, valid for an hour (a claim given as None is left out)."""
    now = int(time.time())
    body = (
        {"sub": "c1", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600} | claims
        if defaults
        else claims
    )
    body = {k: v for k, v in body.items() if v is not None}
    headers = {} if no_kid else {"kid": kid or key.kid}
    return jwt.encode(body, key.private, algorithm=algorithm or key.algorithm, headers=headers)


@dataclass
class JwksServer:
    """An ASGI app serving `keys` as a JWKS at /jwks.json; `requests` counts its GETs."""

    keys: list[SigningKey] = field(default_factory=list)
    requests: int = 0

    def document(self) -> bytes:
        return json.dumps({"keys": [key.public_jwk for key in self.keys]}).encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        status, body = (200, self.document()) if scope["path"] == "/jwks.json" else (404, b"")
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
