"""Only the right people in the right call (docs/security.md), against a real server: each rule
refuses its attack with its documented code while a legitimate call beside it goes on."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from avatarcall.testing.server import DEMO_AGENT, Server, start_server
from avatarcall.testing.signaling import (
    CLOSE_UNAUTHENTICATED,
    TIMEOUT,
    accepted_call,
    agent,
    agent_cookie,
    assert_healthy,
    assert_relayed,
    customer,
    new_call,
    receive,
    refused,
    rejected,
    send,
    until_pong,
    waiting_call_ids,
    ws_url,
)
from avatarcall.tokens import TokenSigner

CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_BAD_ORIGIN, CLOSE_IDLE = 1008, 1009, 4403, 4408
MAX_MESSAGE = 64 * 1024


# --- helpers ----------------------------------------------------------------------------


@asynccontextmanager
async def legitimate_call(server: Server) -> AsyncIterator[tuple[ClientConnection, ClientConnection, str]]:
    """A customer and an agent in a call that is on; on exit, it still relays both ways."""
    cookie = await agent_cookie(server)
    ticket = await new_call(server)
    call_id = ticket["call_id"]
    async with customer(server, ticket) as ws_customer, agent(server, cookie) as ws_agent:
        await accepted_call(server, cookie, ws_agent, ws_customer, call_id)
        yield ws_customer, ws_agent, call_id
        await assert_relayed(ws_customer, ws_agent, call_id, "candidate:7 1 udp 1 a 9 typ host")
        await assert_relayed(ws_agent, ws_customer, call_id, "candidate:8 1 udp 1 b 9 typ host")
        assert not [m for m in await until_pong(ws_customer) if m["type"] in ("error", "call.state")]
    await assert_healthy(server)


def signer(server: Server, clock: float | None = None) -> TokenSigner:
    """Tokens signed with the server's own key (read from its data directory)."""
    key = (server.data_dir / "signing.key").read_bytes()
    return TokenSigner(key) if clock is None else TokenSigner(key, clock=lambda: clock)


def cli(server: Server, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AVATARCALL_DATA_DIR": str(server.data_dir)}
    return subprocess.run([sys.executable, "-m", "avatarcall", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def add_agent(server: Server, name: str, password: str, *flags: str) -> None:
    result = cli(server, "agent", "add", name, *flags, stdin=password + "\n")
    assert result.returncode == 0, result.stderr


async def login(server: Server, name: str, password: str,
                address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}  # uvicorn trusts it from 127.0.0.1
    async with server.client() as client:
        return await client.post("/api/login", json={"name": name, "password": password},
                                 headers=headers)


async def closed_with(ws: ClientConnection) -> int | None:
    """Read until the server closes; return its close code."""
    async def drain() -> None:
        async for _ in ws:
            pass

    try:
        await asyncio.wait_for(drain(), TIMEOUT)
    except ConnectionClosed:
        pass
    return ws.close_code


# --- tokens ---------------------------------------------------------------------------


async def test_missing_expired_and_forged_tokens_are_refused(server: Server) -> None:
    async with legitimate_call(server) as (_, _, call_id):
        url = ws_url(server)
        assert await refused(url) == ("unauthenticated", CLOSE_UNAUTHENTICATED)
        expired = signer(server, clock=time.time() - 5 * 3600).sign(
            {"kind": "customer", "call": call_id, "name": "Mallory"}, 3600)
        assert await refused(ws_url(server, expired)) == ("token_expired", CLOSE_UNAUTHENTICATED)
        forged = TokenSigner(b"k" * 32).sign({"kind": "customer", "call": call_id, "name": "M"}, 60)
        assert await refused(ws_url(server, forged)) == ("token_invalid", CLOSE_UNAUTHENTICATED)
        # A customer link is no agent session, and a forged or expired session is no session.
        customer_token = signer(server).sign({"kind": "customer", "call": call_id, "name": "M"}, 60)
        for cookie, code in ((customer_token, "token_invalid"),
                             (TokenSigner(b"k" * 32).sign({"kind": "agent", "name": "alice",
                                                          "admin": True}, 60), "token_invalid"),
                             (signer(server, clock=time.time() - 13 * 3600).sign(
                                 {"kind": "agent", "name": "alice"}, 3600), "token_expired")):
            headers = {"Cookie": f"avatarcall_agent={cookie}"}
            assert await refused(url, headers) == (code, CLOSE_UNAUTHENTICATED)
            async with server.client(cookies={"avatarcall_agent": cookie}) as http:
                response = await http.get("/api/me")
            assert (response.status_code, response.json()["code"]) == (401, code)
        # The page's own way in (a link) says the same.
        async with server.client() as http:
            for token, code in ((expired, "token_expired"), (forged, "token_invalid")):
                response = await http.post("/api/calls/join", json={"token": token})
                assert (response.status_code, response.json()["code"]) == (401, code)


async def test_a_customer_token_only_opens_its_own_call(server: Server) -> None:
    async with legitimate_call(server) as (_, ws_agent, call_id):
        other = await new_call(server)
        async with customer(server, other) as ws_other:
            for message in (
                {"type": "call.signal", "call_id": call_id, "candidate": {"candidate": "x"}},
                {"type": "call.end", "call_id": call_id},
                {"type": "link.state", "call_id": call_id, "link": "call", "state": "failed"},
                {"type": "call.rejoin", "call_id": call_id},
            ):
                await rejected(ws_other, message, "not_allowed")
        # The agent of the legitimate call heard none of it.
        heard = [m["type"] for m in await until_pong(ws_agent)]
        assert not {"call.signal", "call.state", "call.rejoin", "error"} & set(heard), heard


# --- roles and sign-in ---------------------------------------------------------------


async def test_agents_sign_in_with_their_own_password_and_only_admins_see_admin(
        server: Server) -> None:
    add_agent(server, "carol", "carol-password-1")
    response = await login(server, "carol", "carol-password-1")
    assert response.status_code == 200 and response.json() == {
        "name": "carol", "role": "agent", "admin": False}
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    assert "secure" not in set_cookie  # plain HTTP here; see the TLS test
    cookie = response.cookies["avatarcall_agent"]
    async with server.client(cookies={"avatarcall_agent": cookie}) as http:
        assert (await http.get("/api/me")).json()["admin"] is False
        report = await http.get("/api/admin/report")
        assert (report.status_code, report.json()["code"]) == (403, "not_allowed")
        logout = await http.post("/api/logout")
        assert logout.status_code == 200
        assert 'avatarcall_agent=""' in logout.headers["set-cookie"]
    cookie = (await login(server, "carol", "carol-password-1")).cookies["avatarcall_agent"]
    admin_cookie = await agent_cookie(server)  # the demo agent is an admin
    async with server.client(cookies={"avatarcall_agent": admin_cookie}) as http:
        assert (await http.get("/api/admin/report")).status_code == 200
    # A forged "admin" claim is no admin.
    forged = TokenSigner(b"k" * 32).sign({"kind": "agent", "name": "carol", "admin": True}, 600)
    async with server.client(cookies={"avatarcall_agent": forged}) as http:
        assert (await http.get("/api/admin/report")).json()["code"] == "token_invalid"
    # Carol's (new) cookie opens the agent console's socket.
    async with agent(server, cookie) as ws:
        assert not [m for m in await until_pong(ws) if m["type"] == "error"]


async def test_failed_sign_ins_slow_the_guesser_and_lock_nobody_out(server: Server) -> None:
    add_agent(server, "dave", "dave-password-1")
    # One address guessing one account: five tries, then it waits for that account.
    for _ in range(5):
        response = await login(server, "dave", "wrong", address="192.0.2.1")
        assert (response.status_code, response.json()["code"]) == (401, "bad_login")
    response = await login(server, "dave", "dave-password-1", address="192.0.2.1")
    assert (response.status_code, response.json()["code"]) == (429, "too_many_attempts")
    assert response.json()["retryable"] is True
    assert 1 <= int(response.headers["retry-after"]) <= 300
    # Dave from anywhere else signs in.
    assert (await login(server, "dave", "dave-password-1", address="192.0.2.99")).status_code == 200
    # Many addresses guessing dave: past the alarm, each new address gets a single try...
    for i in range(20):
        await login(server, "dave", "wrong", address=f"198.18.0.{i}")
    assert (await login(server, "dave", "wrong", address="198.18.1.1")).status_code == 401
    response = await login(server, "dave", "wrong", address="198.18.1.1")
    assert response.status_code == 429
    # ...and dave still gets his.
    assert (await login(server, "dave", "dave-password-1", address="198.18.2.2")).status_code == 200
    # Everyone else is untouched.
    assert (await login(server, *DEMO_AGENT, address="192.0.2.1")).status_code == 200
    assert (await login(server, *DEMO_AGENT)).status_code == 200


async def me(server: Server, cookie: str) -> httpx.Response:
    async with server.client() as client:
        return await client.get("/api/me", headers={"Cookie": f"avatarcall_agent={cookie}"})


async def test_a_removed_or_signed_out_agent_is_let_go_at_once(server: Server) -> None:
    add_agent(server, "gina", "gina-password-1")
    cookie = (await login(server, "gina", "gina-password-1")).cookies["avatarcall_agent"]
    async with agent(server, cookie) as ws:
        # Signed out everywhere (from the command line, another process): the open console is
        # told why and closed for good, the cookie no longer opens anything.
        assert cli(server, "agent", "signout", "gina").returncode == 0
        assert (await receive(ws, "error"))["code"] == "session_ended"
        assert await closed_with(ws) == CLOSE_UNAUTHENTICATED
    response = await me(server, cookie)
    assert (response.status_code, response.json()["code"]) == (401, "session_ended")
    assert await refused(ws_url(server), {"Cookie": f"avatarcall_agent={cookie}"}) == (
        "session_ended", CLOSE_UNAUTHENTICATED)
    # Signing in again works, and a new password ends that session too.
    cookie = (await login(server, "gina", "gina-password-1")).cookies["avatarcall_agent"]
    assert (await me(server, cookie)).json()["admin"] is False
    add_agent(server, "gina", "gina-password-2", "--admin")
    await asyncio.sleep(2.5)  # the server reads an agent's row at most every 2 s
    assert (await me(server, cookie)).status_code == 401
    cookie = (await login(server, "gina", "gina-password-2")).cookies["avatarcall_agent"]
    assert (await me(server, cookie)).json()["admin"] is True
    # Removed: gone at once, and nobody signs in with that name any more.
    result = cli(server, "agent", "remove", "gina")
    assert result.returncode == 0 and "removed gina" in result.stdout
    await asyncio.sleep(2.5)  # the server reads an agent's row at most every 2 s
    assert (await me(server, cookie)).json()["code"] == "session_ended"
    assert (await login(server, "gina", "gina-password-2")).status_code == 401
    assert cli(server, "agent", "remove", "gina").returncode != 0  # told there is no such agent


async def start_call(server: Server, address: str) -> httpx.Response:
    async with server.client() as client:
        return await client.post("/api/calls", json={"language": "fr"},
                                 headers={"X-Forwarded-For": address})


async def test_anonymous_calls_are_limited_per_address_and_by_the_queue(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    small = start_server(tmp_path_factory.mktemp("small"), AVATARCALL_CALLS_PER_ADDRESS="3",
                         AVATARCALL_MAX_WAITING_CALLS="5")
    try:
        for _ in range(3):
            assert (await start_call(small, "192.0.2.10")).status_code == 200
        response = await start_call(small, "192.0.2.10")
        assert (response.status_code, response.json()["code"]) == (429, "too_many_calls")
        assert response.json()["retryable"] is True
        assert 1 <= int(response.headers["retry-after"]) <= 60
        # Another address may still call, until the queue holds as many as the server takes.
        assert (await start_call(small, "192.0.2.11")).status_code == 200
        assert (await start_call(small, "192.0.2.11")).status_code == 200
        response = await start_call(small, "192.0.2.12")
        assert (response.status_code, response.json()["code"]) == (503, "queue_full")
        assert int(response.headers["retry-after"]) == 60
        # Nothing was lost: the five calls wait for an agent, each with its avatar.
        async with small.client() as client:
            health = (await client.get("/healthz")).json()
        assert (health["calls"], health["avatar_sessions"]) == (5, 5)
    finally:
        small.stop()


# --- the integration API --------------------------------------------------------------


async def test_an_api_key_mints_a_link_to_one_call(server: Server) -> None:
    result = cli(server, "apikey", "add", "shop")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert key.startswith("ack_") and len(key) > 40
    assert key not in (server.data_dir / "avatarcall.sqlite3").read_bytes().decode("latin-1")

    async with server.client() as http:
        body = {"customer": "Zoé Martin", "language": "fr-FR", "topic": "Commande 4411"}
        for headers, code in (({}, "unauthenticated"),
                              ({"Authorization": "Bearer ack_not-a-key"}, "bad_api_key"),
                              ({"Authorization": f"Basic {key}"}, "unauthenticated")):
            response = await http.post("/api/integrations/calls", json=body, headers=headers)
            assert (response.status_code, response.json()["code"]) == (401, code), headers
            assert response.headers["www-authenticate"] == "Bearer"
        response = await http.post("/api/integrations/calls", json=body,
                                   headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        invitation = response.json()
        assert invitation["url"] == f"{server.url}/?call={invitation['token']}"
        assert invitation["language"] == "fr"
        page = await http.get(invitation["url"])
        assert page.status_code == 200 and 'data-testid="start-call"' in page.text

    cookie = await agent_cookie(server)
    call_id = invitation["call_id"]
    # Nobody has opened the link yet: no call waits in the queue.
    assert call_id not in await waiting_call_ids(server, cookie)
    async with server.client() as http:
        joined = (await http.post("/api/calls/join", json={"token": invitation["token"]})).json()
    assert joined == {"call_id": call_id, "token": invitation["token"], "language": "fr"}
    async with customer(server, joined) as ws_customer:
        async with connect(ws_url(server), additional_headers={"Cookie": f"avatarcall_agent={cookie}"}) as ws:
            queue = await receive(ws, "queue")
        assert [(i["customer"], i["topic"]) for i in queue["items"] if i["call_id"] == call_id] == [
            ("Zoé Martin", "Commande 4411")]
        # The invited customer is a customer: agent-only messages are refused.
        for message in ({"type": "avatar.say", "call_id": call_id, "text": "I am the agent"},
                        {"type": "avatar.plan.set", "call_id": call_id, "during": "off"},
                        {"type": "call.accept", "call_id": call_id}):
            await rejected(ws_customer, message, "not_allowed")
        async with agent(server, cookie) as ws_agent:
            await accepted_call(server, cookie, ws_agent, ws_customer, call_id)
            await assert_relayed(ws_customer, ws_agent, call_id, "candidate:9 1 udp 1 c 9 typ host")
            await send(ws_agent, {"type": "call.end", "call_id": call_id})
            await receive(ws_customer, "call.state", state="ended")

    # A revoked key mints nothing more; the link of an ended call opens no new one.
    assert cli(server, "apikey", "revoke", "shop").returncode == 0
    assert "shop\trevoked" in cli(server, "apikey", "list").stdout
    async with server.client() as http:
        response = await http.post("/api/integrations/calls", json={"customer": "X"},
                                   headers={"Authorization": f"Bearer {key}"})
        assert (response.status_code, response.json()["code"]) == (401, "bad_api_key")
        response = await http.post("/api/calls/join", json={"token": invitation["token"]})
        assert (response.status_code, response.json()["code"]) == (410, "call_ended")
    await assert_healthy(server)


# --- the WebSocket's own rules -------------------------------------------------------


async def test_a_foreign_origin_is_refused(server: Server) -> None:
    cookie = await agent_cookie(server)
    headers = {"Cookie": f"avatarcall_agent={cookie}"}
    port = server.url.rsplit(":", 1)[1]
    async with legitimate_call(server) as (_, _, _):
        ticket = await new_call(server)
        for origin in ("https://evil.example", f"http://127.0.0.1:{int(port) + 1}",
                       f"http://localhost.evil.example:{port}", "null"):
            for url, extra in ((ws_url(server), headers), (ws_url(server, ticket["token"]), {})):
                outcome = await refused(url, {**extra, "Origin": origin})
                assert outcome == ("bad_origin", CLOSE_BAD_ORIGIN), origin
        # The server's own pages (same host and port) get in.
        async with connect(ws_url(server), origin=server.url, additional_headers=headers) as ws:
            assert (await receive(ws, "welcome"))["role"] == "agent"


async def test_an_oversized_frame_closes_the_socket_with_1009(server: Server) -> None:
    async with legitimate_call(server) as (_, _, _):
        ticket = await new_call(server)
        async with customer(server, ticket) as ws:
            # Just under the cap: an ordinary bad message, and the socket stays.
            big = {"type": "avatar.say", "call_id": ticket["call_id"], "text": "x" * 60_000}
            await rejected(ws, big, "bad_message")
            await ws.send("x" * (MAX_MESSAGE + 1))
            assert await closed_with(ws) == CLOSE_TOO_BIG
        async with customer(server, ticket) as ws:  # the page may come back
            assert not [m for m in await until_pong(ws) if m["type"] == "error"]


async def flood(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    """Send ``count`` pings as fast as possible while reading everything that comes back."""
    received: list[dict[str, Any]] = []

    async def read() -> None:
        try:
            async for raw in ws:
                received.append(json.loads(raw))
        except ConnectionClosed:
            pass

    reader = asyncio.create_task(read())
    try:
        for _ in range(count):
            await ws.send('{"type":"ping"}')
    except ConnectionClosed:
        pass
    await asyncio.sleep(0.5)
    if not reader.done():
        await until_quiet(received)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    return received


async def until_quiet(received: list[dict[str, Any]]) -> None:
    seen = -1
    while seen != len(received):
        seen = len(received)
        await asyncio.sleep(0.3)


async def test_a_page_over_the_rate_is_told_and_a_flood_is_closed(server: Server) -> None:
    async with legitimate_call(server) as (_, _, _):
        ticket = await new_call(server)
        async with customer(server, ticket) as ws:
            # A burst a little over the allowance: some dropped, the page told once, still open.
            received = await flood(ws, 260)
            errors = [m for m in received if m["type"] == "error"]
            assert errors and {e["code"] for e in errors} == {"rate_limited"}, errors
            assert len(errors) <= 2  # told at most once a second, not once per dropped message
            assert errors[0]["retryable"] is True
            assert 200 <= sum(m["type"] == "pong" for m in received) < 260
            await asyncio.sleep(1.5)
            assert not [m for m in await until_pong(ws) if m["type"] == "error"]
        async with customer(server, ticket) as ws:
            # A flood that goes on: closed with 1008.
            received = await flood(ws, 3000)
            assert "rate_limited" in [m.get("code") for m in received]
            assert sum(m["type"] == "pong" for m in received) < 400
            assert ws.close_code == CLOSE_POLICY


# --- a stricter server: short idle timeout, another site allowed -------------------------


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("strict"), AVATARCALL_WS_IDLE_TIMEOUT="1.5",
                       AVATARCALL_ALLOWED_ORIGINS='["https://shop.example"]')
    yield srv
    srv.stop()


async def test_a_silent_socket_is_closed_and_a_pinging_one_is_not(strict_server: Server) -> None:
    quiet, chatty = await new_call(strict_server), await new_call(strict_server)
    async with customer(strict_server, quiet) as silent, customer(strict_server, chatty) as alive:
        start = time.monotonic()
        while time.monotonic() - start < 4:  # well past the 1.5 s idle timeout
            await send(alive, {"type": "ping"})
            await receive(alive, "pong")
            await asyncio.sleep(0.4)
        assert await closed_with(silent) == CLOSE_IDLE
        assert alive.close_code is None
        assert not [m for m in await until_pong(alive) if m["type"] == "error"]


async def test_a_configured_origin_may_connect(strict_server: Server) -> None:
    ticket = await new_call(strict_server)
    async with connect(ws_url(strict_server, ticket["token"]), origin="https://shop.example") as ws:
        assert (await receive(ws, "welcome"))["role"] == "customer"
    assert await refused(ws_url(strict_server, ticket["token"]),
                         {"Origin": "https://other.example"}) == ("bad_origin", CLOSE_BAD_ORIGIN)


# --- what every response carries ---------------------------------------------------------


async def test_security_headers_on_every_response(server: Server) -> None:
    async with server.client() as http:
        for path in ("/", "/agent", "/admin", "/healthz", "/static/app/customer.js",
                     "/openapi.json", "/api/me", "/no/such/page"):
            response = await http.get(path)
            policy = response.headers["content-security-policy"]
            assert "script-src 'self';" in policy and "unsafe-inline" not in policy, path
            assert "frame-ancestors 'self'" in policy
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "camera=(self)" in response.headers["permissions-policy"]
            assert "microphone=(self)" in response.headers["permissions-policy"]
            assert "bluetooth" not in response.headers["permissions-policy"]  # unknown: warns
            assert "strict-transport-security" not in response.headers  # HTTPS only
        docs = await http.get("/docs")
        assert "'nonce-" in docs.headers["content-security-policy"]
        assert "<script nonce=" in docs.text
        # Swagger UI comes from this server: no third-party script, no internet needed.
        assert "https://" not in docs.headers["content-security-policy"]
        assert "https://" not in docs.text.replace("https://swagger.io", "")
        bundle = await http.get("/docs/assets/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and len(bundle.content) > 100_000
    for page in ("customer.html", "agent.html", "admin.html"):  # no inline script or handler
        html = (Path(__file__).parents[2] / "src/avatarcall/static/app" / page).read_text()
        assert "<script>" not in html and " onclick=" not in html and " onload=" not in html


# --- HTTPS, secrets and file modes --------------------------------------------------------

TURN_SECRET = "turn-secret-never-shown"


async def test_https_secure_cookies_hsts_and_no_secret_in_pages_logs_or_open_files(
        tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", tls="self-signed",
                          AVATARCALL_TURN_SECRET=TURN_SECRET,
                          AVATARCALL_TURN_URLS='["turn:127.0.0.1:3478"]')
    try:
        assert server.url.startswith("https://")
        async with server.client() as http:
            page = await http.get("/")
            assert page.headers["strict-transport-security"].startswith("max-age=")
        response = await login(server, *DEMO_AGENT)
        set_cookie = response.headers["set-cookie"].lower()
        assert "secure" in set_cookie and "httponly" in set_cookie and "samesite=strict" in set_cookie
        cookie = response.cookies["avatarcall_agent"]
        ticket = await new_call(server)
        async with customer(server, ticket) as ws_customer, agent(server, cookie) as ws_agent:
            await accepted_call(server, cookie, ws_agent, ws_customer, ticket["call_id"])
            await assert_relayed(ws_customer, ws_agent, ticket["call_id"], "candidate:1 1 udp 1 d 9 typ host")
            await send(ws_customer, {"type": "ice.refresh"})
            servers = await receive(ws_customer, "ice.servers")
            assert servers["call"][0]["username"] and TURN_SECRET not in json.dumps(servers)
        key = cli(server, "apikey", "add", "crm").stdout.strip()
        async with server.client() as http:
            invitation = (await http.post("/api/integrations/calls", json={"customer": "Y"},
                                          headers={"Authorization": f"Bearer {key}"})).json()
            await http.get(invitation["url"])
        async with customer(server, invitation):  # wss:// with the invitation's token
            pass
    finally:
        server.stop()
    log = server.log.read_text()
    assert "WebSocket /ws?token=[redacted]" in log  # uvicorn logged the socket, without its token
    for secret in (TURN_SECRET, ticket["token"], invitation["token"], key, cookie, DEMO_AGENT[1]):
        assert secret not in log
    data = server.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("signing.key", "avatarcall.sqlite3", "tls/self-signed.key"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((data / "tls").stat().st_mode) == 0o700


async def test_the_server_took_it_all_in_its_stride(server: Server) -> None:
    await assert_healthy(server)
    assert server.unexpected_tracebacks() == []
    assert "ack_" not in server.log.read_text()
