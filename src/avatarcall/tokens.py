"""Signed, expiring tokens: customer call links and agent session cookies.

Format: ``base64url(json payload) "." base64url(HMAC-SHA256)``; the key lives in the data
directory with mode 600 and never leaves the server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import secrets
import time
from pathlib import Path
from typing import Any

from avatarcall.errors import Unauthenticated


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    # Strict: one spelling per token (no ignored characters, no extra padding).
    if "=" in text:
        raise ValueError("padding is not part of a token")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The signing key in ``path`` (mode 600); a missing or truncated file gets a new key."""
    if path.exists():
        key = path.read_bytes()
        if len(key) >= KEY_BYTES:
            os.chmod(path, 0o600)
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic: a reader sees no key or the whole key
    return key


class TokenSigner:
    def __init__(self, key: bytes, clock: Any = time.time) -> None:
        self._key = key
        self._clock = clock

    def sign(self, payload: dict[str, Any], ttl: float) -> str:
        body = dict(payload, exp=math.ceil(self._clock() + ttl))
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()
        return f"{_b64(raw)}.{_b64(mac)}"

    def verify(self, token: str, kind: str) -> dict[str, Any]:
        """Return the payload of a valid token of ``kind``; raise :class:`Unauthenticated`."""
        try:
            raw_b64, mac_b64 = token.split(".", 1)
            raw, mac = _unb64(raw_b64), _unb64(mac_b64)
        except (ValueError, TypeError, binascii.Error):
            raise Unauthenticated("This link is not valid.", code="token_invalid") from None
        if not hmac.compare_digest(mac, hmac.new(self._key, raw, hashlib.sha256).digest()):
            raise Unauthenticated("This link is not valid.", code="token_invalid")
        try:
            payload = json.loads(raw)
        except ValueError:
            raise Unauthenticated("This link is not valid.", code="token_invalid") from None
        if payload.get("kind") != kind:
            raise Unauthenticated("This link is not valid here.", code="token_invalid")
        if payload.get("exp", 0) < self._clock():
            raise Unauthenticated("This link has expired.", code="token_expired")
        return payload
