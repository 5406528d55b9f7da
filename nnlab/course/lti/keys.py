"""The tool's RSA key pair: made once into DATA_DIR (0600), its public half served as a JWKS."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey

from nnlab.errors import UsageError

KEY_FILE = "lti-tool-key.pem"
ALGORITHM = "RS256"
"""The only signature algorithm LTI 1.3 requires of both sides."""


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_FILE


def make_key(data_dir: Path) -> tuple[RSAKey, bool]:
    """The tool's key, made now if DATA_DIR has none; (key, whether it was made)."""
    path = key_path(data_dir)
    if path.exists():
        return load_key(data_dir), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = RSAKey.generate_key(2048, private=True)
    # O_EXCL: two commands racing never both write, and the file is 0600 from its first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.as_pem(private=True))
    return load_key(data_dir), True


def load_key(data_dir: Path) -> RSAKey:
    """The tool's private key; a missing one is a usage error that says how to make it."""
    path = key_path(data_dir)
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no LTI key yet; run `nnlab lti keys --data {data_dir}`") from None
    key = RSAKey.import_key(pem)
    # The kid is the key's RFC 7638 thumbprint: stable across restarts, new with a new key.
    return RSAKey.import_key(pem, {"kid": key.thumbprint(), "alg": ALGORITHM, "use": "sig"})


def public_jwks(key: RSAKey) -> dict[str, Any]:
    """What /lti/jwks serves: the public half only."""
    return {"keys": [key.as_dict(private=False)]}


def tool_urls(base: str) -> dict[str, str]:
    """The three URLs an LMS asks for when the tool is registered."""
    base = base.rstrip("/")
    return {"login": f"{base}/lti/login", "launch": f"{base}/lti/launch", "jwks": f"{base}/lti/jwks"}
