"""Development keys: one signing key made on first use in the dev data folder (never committed:
`.data/` is git-ignored), its public JWKS next to it, and tokens signed with it, so GraphiQL can
be used with authentication at once (`python -m router token`, then the headers pane:
`{"Authorization": "Bearer <token>"}`).

Production never reads these: a router trusts them only where router.yaml names their JWKS
file (as `python -m router dev` does).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ISSUER = "pyfederation-dev"
ALGORITHM = "ES256"
KID = "dev-1"


@dataclass(frozen=True)
class DevelopmentKeys:
    """The development signing key and its JWKS in one folder (the dev data folder), made on
    first use."""

    folder: Path

    @property
    def private_key_file(self) -> Path:
        """The PEM private key tokens are signed with (readable by its owner only)."""
        return self.folder / "dev-signing-key.pem"

    @property
    def jwks_file(self) -> Path:
        """The public JWKS a development router's router.yaml names to verify the tokens."""
        return self.folder / "dev-jwks.json"

    def ensure(self) -> DevelopmentKeys:
        """Make the key pair when it is missing (the private key readable by its owner only)."""
        if self.private_key_file.exists() and self.jwks_file.exists():
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(self.private_key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        public = json.loads(ECAlgorithm.to_jwk(key.public_key()))
        public.update({"kid": KID, "alg": ALGORITHM, "use": "sig"})
        self.jwks_file.write_text(json.dumps({"keys": [public]}, indent=2) + "\n")
        return self

    def token(
        self, subject: str, scopes: list[str] | None = None, lifetime: float = 8 * 3600
    ) -> str:
        """A token for `subject` with `scopes` (the `scope` claim, space-separated)."""
        self.ensure()
        key: Any = serialization.load_pem_private_key(
            self.private_key_file.read_bytes(), password=None
        )
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": subject,
            "iss": ISSUER,
            "iat": now,
            "exp": now + int(lifetime),
        }
        if scopes:
            claims["scope"] = " ".join(scopes)
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": KID})
