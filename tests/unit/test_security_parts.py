"""The pure and local parts of security: password and API key stores, the sign-in limiter, the
origin rule, the security headers, the self-signed certificate, log redaction, the commands."""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import logging
import stat
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from cryptography import x509
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from avatarcall import cli
from avatarcall.redact import RedactSecrets, redact
from avatarcall.store.agents import AgentStore
from avatarcall.store.apikeys import ApiKeyStore
from avatarcall.tls import names_for, self_signed
from avatarcall.web.headers import SecurityHeaders
from avatarcall.web.origins import origin_allowed
from avatarcall.web.ratelimit import AttemptLimiter

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


# --- agents ---------------------------------------------------------------------------


def test_agents_have_argon2_hashes_roles_and_no_clear_password(tmp_path: Path) -> None:
    db = tmp_path / "data" / "a.sqlite3"
    store = AgentStore(db, FAST)
    assert store.set("carol", "s3cret-pass") is True
    assert store.set("carol", "n3w-pass-1", admin=True) is False  # an update
    assert store.verify("carol", "s3cret-pass") is None
    carol = store.verify("carol", "n3w-pass-1")
    assert carol is not None and carol.admin is True
    assert store.verify("nobody", "n3w-pass-1") is None
    assert store.verify("carol", "x" * 10_000) is None
    assert b"n3w-pass" not in db.read_bytes()
    assert b"$argon2id$" in db.read_bytes()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    with pytest.raises(ValueError):
        store.set("bad:name", "password")
    with pytest.raises(ValueError):
        store.set(" padded", "password")
    with pytest.raises(ValueError):  # short passwords are refused everywhere
        store.set("erin", "short")


def test_a_weak_hash_is_upgraded_on_sign_in(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite3"
    AgentStore(db, FAST).set("dora", "password-1")
    strong = AgentStore(db, PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    assert strong.verify("dora", "password-1") is not None
    assert b"t=2" in db.read_bytes()  # rehashed with the new parameters


def test_the_first_admin_is_made_once_on_an_empty_store_and_never_reset(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "a.sqlite3", FAST)
    assert store.create_first("agent", "first-password") is True
    assert store.verify("agent", "first-password").admin is True  # type: ignore[union-attr]
    assert store.create_first("agent", "another-password") is False  # a restart
    assert store.verify("agent", "first-password") is not None  # not reset
    store.set("agent", "changed-by-operator", admin=True)
    assert store.create_first("agent", "first-password") is False
    assert store.verify("agent", "changed-by-operator") is not None
    other = AgentStore(tmp_path / "b.sqlite3", FAST)
    other.set("bob", "bob-password")
    assert other.create_first("agent", "first-password") is False  # agents exist: none made
    assert other.get("agent") is None


# --- API keys -------------------------------------------------------------------------


def test_sessions_end_when_an_agent_changes_signs_out_or_is_removed(tmp_path: Path) -> None:
    store = AgentStore(tmp_path / "db.sqlite3", FAST)
    store.set("erin", "password-1")
    first = store.get("erin")
    assert first is not None
    store.set("erin", "password-2")  # a new password ends the sessions signed in before it
    changed = store.get("erin")
    assert changed is not None and changed.sessions_after > first.sessions_after
    assert store.sign_out("erin") and not store.sign_out("nobody")
    assert store.get("erin").sessions_after >= changed.sessions_after  # type: ignore[union-attr]
    assert store.remove("erin") and not store.remove("erin")
    assert store.get("erin") is None


def test_an_agents_table_from_before_session_ends_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as old:
        old.execute("CREATE TABLE agents (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, "
                    "admin INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, "
                    "updated_at REAL NOT NULL)")
        old.execute("INSERT INTO agents VALUES ('fay', 'x', 1, 1.0, 1.0)")
    agent = AgentStore(db, FAST).get("fay")
    assert agent is not None and (agent.admin, agent.sessions_after) == (True, 0.0)


def test_api_keys_are_stored_hashed_and_can_be_revoked(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "a.sqlite3")
    key = store.add("shop")
    assert key.startswith("ack_") and len(key) >= 40
    assert key.encode() not in (tmp_path / "a.sqlite3").read_bytes()
    assert store.check(key) == "shop"
    assert store.check(key + "x") is None and store.check("") is None
    with pytest.raises(ValueError):
        store.add("shop")  # a live key of that name exists
    assert store.revoke("shop") is True and store.revoke("shop") is False
    assert store.check(key) is None
    again = store.add("shop")
    assert again != key and store.check(again) == "shop" and store.check(key) is None
    assert [(k.name, k.revoked_at is None) for k in store.list()] == [("shop", True)]


# --- sign-in limiter ------------------------------------------------------------------


def test_the_limiter_counts_failures_in_a_sliding_window() -> None:
    now = [1000.0]
    limiter = AttemptLimiter(limit=5, window=60, clock=lambda: now[0], max_keys=3)
    for _ in range(4):
        limiter.record("name:a", "address:1")
        now[0] += 1
    assert limiter.retry_after("name:a") is None
    limiter.record("name:a")
    assert limiter.retry_after("name:a") == 56  # the oldest of the five leaves at 1060
    assert limiter.retry_after("name:b", "address:1") is None  # four from that address
    now[0] = 1060.5
    assert limiter.retry_after("name:a") is None
    limiter.forgive("address:1")
    limiter.reset("name:a")
    assert limiter.retry_after("name:a") is None
    for key in ("k1", "k2", "k3", "k4"):  # memory is bounded
        limiter.record(key)
    assert len(limiter._failures) <= 3


# --- origins --------------------------------------------------------------------------


@pytest.mark.parametrize(("origin", "host", "allowed", "ok"), [
    (None, "127.0.0.1:8080", [], True),  # no browser
    ("http://127.0.0.1:8080", "127.0.0.1:8080", [], True),
    ("https://calls.example.com", "calls.example.com", [], True),  # behind a TLS proxy
    ("https://Calls.Example.com:443", "calls.example.com", [], True),
    ("http://127.0.0.1:8081", "127.0.0.1:8080", [], False),
    ("http://localhost:8080", "127.0.0.1:8080", [], False),
    ("https://evil.example", "calls.example.com", [], False),
    ("https://calls.example.com.evil.example", "calls.example.com", [], False),
    ("https://calls.example.com:8443", "calls.example.com", [], False),
    ("null", "127.0.0.1:8080", [], False),
    ("javascript://127.0.0.1:8080", "127.0.0.1:8080", [], False),
    ("https://shop.example", "calls.example.com", ["https://shop.example"], True),
    ("https://shop.example/", "calls.example.com", ["https://shop.example"], True),
    ("https://shop.example", "calls.example.com", ["*"], True),
    ("https://shop.example", None, [], False),
    ("http://[::1", "127.0.0.1:8080", [], False),
])
def test_the_origin_rule(origin: str | None, host: str | None, allowed: list[str], ok: bool) -> None:
    assert origin_allowed(origin, host, allowed) is ok


# --- headers --------------------------------------------------------------------------


def _app(frame_ancestors: str = "'self'") -> Starlette:
    async def hello(_: object) -> PlainTextResponse:
        return PlainTextResponse("hi", headers={"x-content-type-options": "nosniff"})

    async def own_policy(_: object) -> PlainTextResponse:
        return PlainTextResponse("docs", headers={"content-security-policy": "default-src 'none'"})

    app = Starlette(routes=[Route("/", hello), Route("/docs", own_policy)])
    app.add_middleware(SecurityHeaders, frame_ancestors=frame_ancestors)
    return app


async def test_every_response_gets_the_headers_and_hsts_only_over_https() -> None:
    transport = httpx.ASGITransport(app=_app("'self' https://shop.example"))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/")
        assert response.headers["content-security-policy"].endswith(
            "frame-ancestors 'self' https://shop.example")
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]
        assert "strict-transport-security" not in response.headers
        docs = await client.get("/docs")
        assert docs.headers["content-security-policy"] == "default-src 'none'"
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        assert (await client.get("/")).headers["strict-transport-security"] == "max-age=31536000"


# --- the self-signed certificate ---------------------------------------------------------


def test_a_self_signed_certificate_names_localhost_and_the_host(tmp_path: Path) -> None:
    names = names_for("192.168.1.20")
    assert names == ["localhost", "127.0.0.1", "::1", "192.168.1.20"]
    cert_path, key_path = self_signed(tmp_path / "tls", names)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"),
        ipaddress.ip_address("192.168.1.20")}
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_path.read_bytes()
    # Kept while it fits; made again for another host or near its end.
    assert self_signed(tmp_path / "tls", names) == (cert_path, key_path)
    assert x509.load_pem_x509_certificate(cert_path.read_bytes()) == cert
    self_signed(tmp_path / "tls", names_for("lan-box.local"))
    other = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert "lan-box.local" in other.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    self_signed(tmp_path / "tls", names_for("lan-box.local"), now=later)
    renewed = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert renewed.not_valid_after_utc > later


# --- logs -----------------------------------------------------------------------------


def test_tokens_and_keys_are_blanked_in_log_records() -> None:
    assert redact('"WebSocket /ws?token=abc.def&resume=xyz" [accepted]') == (
        '"WebSocket /ws?token=[redacted]&resume=[redacted]" [accepted]')
    assert redact("GET /?call=eyJ.sig HTTP/1.1") == "GET /?call=[redacted] HTTP/1.1"
    assert redact("Authorization: Bearer ack_123") == "Authorization: Bearer [redacted]"
    assert redact("call state call=abc state=waiting") == "call state call=abc state=waiting"
    # Percent-encoded names are what the server reads too: still secrets.
    assert redact("GET /ws?%74oken=abc.def&x=1") == "GET /ws?%74oken=[redacted]&x=1"
    assert redact("GET /?%2563all=abc") == "GET /?%2563all=[redacted]"
    assert redact("GET /?TOKEN=abc") == "GET /?TOKEN=[redacted]"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d', ("1.2.3.4", "GET", "/?call=T.S", "1.1", 200),
                               None)
    assert RedactSecrets().filter(record)
    assert record.getMessage() == '1.2.3.4 - "GET /?call=[redacted] HTTP/1.1" 200'


# --- the commands ---------------------------------------------------------------------


def test_agent_and_apikey_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AVATARCALL_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert cli.main(["agent", "add", "erin", "--admin"]) == 0
    assert "added admin erin" in capsys.readouterr().out
    secret = tmp_path / "pw"
    secret.write_text("another-password\n")
    assert cli.main(["agent", "add", "erin", "--password-file", str(secret)]) == 0
    assert "updated agent erin" in capsys.readouterr().out
    store = AgentStore(tmp_path / "avatarcall.sqlite3")
    assert store.verify("erin", "another-password") is not None
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(SystemExit, match="8-200 characters"):
        cli.main(["agent", "add", "frank"])
    assert cli.main(["agent", "list"]) == 0
    assert capsys.readouterr().out == "erin\tagent\n"

    assert cli.main(["apikey", "add", "crm"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("ack_") and "shown only now" in out.err
    assert ApiKeyStore(tmp_path / "avatarcall.sqlite3").check(key) == "crm"
    with pytest.raises(SystemExit, match="already a live key"):
        cli.main(["apikey", "add", "crm"])
    assert cli.main(["apikey", "revoke", "crm"]) == 0
    with pytest.raises(SystemExit, match="no live API key"):
        cli.main(["apikey", "revoke", "crm"])
    assert ApiKeyStore(tmp_path / "avatarcall.sqlite3").check(key) is None


# --- settings -------------------------------------------------------------------------


def test_security_settings_are_checked(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from avatarcall.config import Settings

    with pytest.raises(ValidationError, match="both tls_cert and tls_key"):
        Settings(tls_cert=tmp_path / "c.pem")
    with pytest.raises(ValidationError, match="exclude each other"):
        Settings(tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem", tls_self_signed=True)
    with pytest.raises(ValidationError, match="frame_ancestors"):
        Settings(frame_ancestors="'self'; script-src *")
    assert Settings(host="10.0.0.5", port=8443, tls_self_signed=True).public_url == "https://10.0.0.5:8443"
    assert Settings(port=80).public_url == "http://127.0.0.1:80"
    assert Settings(public_base_url="https://calls.example.com/").public_url == "https://calls.example.com"
