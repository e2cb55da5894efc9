"""Signed, expiring tokens: customer call links and agent session cookies.

Format: ``base64url(json payload) "." base64url(HMAC-SHA256)``; the key lives in the data
directory with mode 600 and never leaves the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from avatarcall.errors import Unauthenticated


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class TokenSigner:
    def __init__(self, key: bytes, clock: Any = time.time) -> None:
        self._key = key
        self._clock = clock

    def sign(self, payload: dict[str, Any], ttl: float) -> str:
        body = dict(payload, exp=int(self._clock() + ttl))
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()
        return f"{_b64(raw)}.{_b64(mac)}"

    def verify(self, token: str, kind: str) -> dict[str, Any]:
        """Return the payload of a valid token of ``kind``; raise :class:`Unauthenticated`."""
        try:
            raw_b64, mac_b64 = token.split(".", 1)
            raw, mac = _unb64(raw_b64), _unb64(mac_b64)
        except (ValueError, TypeError):
            raise Unauthenticated("This link is not valid.", code="token_invalid") from None
        if not hmac.compare_digest(mac, hmac.new(self._key, raw, hashlib.sha256).digest()):
            raise Unauthenticated("This link is not valid.", code="token_invalid")
        payload = json.loads(raw)
        if payload.get("kind") != kind:
            raise Unauthenticated("This link is not valid here.", code="token_invalid")
        if payload.get("exp", 0) < self._clock():
            raise Unauthenticated("This link has expired.", code="token_expired")
        return payload
