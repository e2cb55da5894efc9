"""Signed expiring tokens with an injected clock, and the key file they are signed with."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from avatarcall.errors import Unauthenticated
from avatarcall.tokens import TokenSigner, load_or_create_key

KEY = b"k" * 32


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signer(clock: Clock) -> TokenSigner:
    return TokenSigner(KEY, clock=clock)


def refused(signer: TokenSigner, token: str, kind: str = "call") -> Unauthenticated:
    with pytest.raises(Unauthenticated) as info:
        signer.verify(token, kind)
    assert info.value.message
    return info.value


def test_round_trip(signer: TokenSigner, clock: Clock) -> None:
    token = signer.sign({"kind": "call", "call_id": "c1"}, ttl=60)
    payload = signer.verify(token, "call")
    assert payload["call_id"] == "c1" and payload["kind"] == "call"
    clock.now += 59
    assert signer.verify(token, "call")["call_id"] == "c1"


def test_expired(signer: TokenSigner, clock: Clock) -> None:
    token = signer.sign({"kind": "call"}, ttl=60)
    clock.now += 61
    assert refused(signer, token).code == "token_expired"


def test_wrong_kind(signer: TokenSigner) -> None:
    token = signer.sign({"kind": "agent", "name": "alice"}, ttl=60)
    assert refused(signer, token, kind="call").code == "token_invalid"


def test_signature_from_another_key(signer: TokenSigner, clock: Clock) -> None:
    forged = TokenSigner(b"x" * 32, clock=clock).sign({"kind": "call"}, ttl=60)
    assert refused(signer, forged).code == "token_invalid"


def test_tampered_payload(signer: TokenSigner) -> None:
    token = signer.sign({"kind": "call", "call_id": "c1"}, ttl=60)
    body, mac = token.split(".")
    raw = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw["call_id"] = "c2"
    tampered = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
    assert refused(signer, f"{tampered}.{mac}").code == "token_invalid"


@pytest.mark.parametrize("garbage", ["", "abc", ".", "a.b", "é.é", "a.b.c", "%%%.%%%"])
def test_garbage(signer: TokenSigner, garbage: str) -> None:
    assert refused(signer, garbage).code == "token_invalid"


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    key = load_or_create_key(path)
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key


def test_each_new_key_is_different(tmp_path: Path) -> None:
    assert load_or_create_key(tmp_path / "a") != load_or_create_key(tmp_path / "b")
