"""The second hardening round, each finding's attack replayed against a real server and refused
(docs/security.md): leaks, stuck queues, bulk credentials, lock-outs, forged timings, probes
sent where a visitor says, foreign Host names."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from pathlib import Path

import httpx
import pytest
from aiortc import RTCPeerConnection
from websockets.exceptions import ConnectionClosed

from avatarcall.testing.server import DEMO_AGENT, Server, start_server
from avatarcall.testing.signaling import (
    TIMEOUT,
    agent_cookie,
    customer,
    new_call,
    receive,
    send,
    until_pong,
)


def open_files(server: Server) -> int:
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


async def settled_open_files(server: Server, at_most: int) -> int:
    """The server's open files once aiortc's transports have wound down (they close over a few
    seconds)."""
    count = open_files(server)
    for _ in range(100):
        if count <= at_most:
            break
        await asyncio.sleep(0.1)
        count = open_files(server)
    return count


async def offer_sdp() -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def test_thirty_concurrent_avatar_offers_leave_no_socket_behind(server: Server) -> None:
    """Finding 1 (high): 30 ``avatar.offer`` on one call without waiting; the server's open files
    went from 20 to 81 and stayed. Now one offer per viewer is answered at a time, newer ones
    supersede, and every link closes with its call."""
    ticket = await new_call(server)
    baseline = open_files(server)
    peers = [await offer_sdp() for _ in range(30)]
    try:
        async with customer(server, ticket) as ws:
            view = await receive(ws, "avatar.view")
            for _, sdp in peers:
                await send(ws, {"type": "avatar.offer", "call_id": ticket["call_id"],
                                "epoch": view["epoch"], "sdp": sdp})
            answers = errors = 0
            while answers + errors < 30:
                message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                answers += message["type"] == "avatar.answer"
                errors += message["type"] == "error" and message.get("request") == "avatar.offer"
            assert answers >= 1 and answers + errors == 30
            await send(ws, {"type": "call.end", "call_id": ticket["call_id"]})
            await receive(ws, "call.state", state="ended")
    finally:
        for pc, _ in peers:
            await pc.close()
    # The customer left after the end: the avatar stops and its links close with it.
    assert await settled_open_files(server, baseline) <= baseline
    async with server.client() as http:
        assert (await http.get("/healthz")).json()["avatar_sessions"] >= 0


async def test_names_are_checked_at_the_edge(server: Server) -> None:
    """Finding 2: a name with a line break broke TURN credentials and left the call waiting."""
    async with server.client() as http:
        for name in ("Eve\nEvil", "Eve\tX", "\x1b[31m", " Eve", "x" * 81, ""):
            response = await http.post("/api/calls", json={"name": name})
            assert response.status_code == 422, name
            assert response.json()["code"] == "bad_message" and "name" in response.json()["message"]
        assert (await http.post("/api/calls", json={"name": "Zoé Ünal-O'Brien"})).status_code == 200
        for topic in ("a\nb", "x" * 121, ""):  # what the call is about: the same rules
            response = await http.post("/api/calls", json={"name": "Zoé", "topic": topic})
            assert response.status_code == 422 and "topic" in response.json()["message"], topic
        assert (await http.post("/api/calls", json={"topic": "Ma facture"})).status_code == 200


async def test_a_customer_who_vanishes_is_always_abandoned(tmp_path: Path) -> None:
    """Finding 2: whatever happened after a page came in, its call ends once the customer has
    been gone past the grace period (it never stays in the queue)."""
    server = start_server(tmp_path, AVATARCALL_WAITING_GRACE_SECONDS="1")
    try:
        cookie = await agent_cookie(server)
        ticket = await new_call(server)
        async with customer(server, ticket):
            pass  # the page goes away at once
        await asyncio.sleep(2.5)
        async with server.client(cookies={"avatarcall_agent": cookie}) as http:
            record = (await http.get(f"/api/calls/{ticket['call_id']}")).json()
            health = (await http.get("/healthz")).json()
        assert record["call"]["state"] == "ended"
        assert record["call"]["end_reason"] == "customer_left"
        assert health["calls"] == 0 and health["avatar_sessions"] == 0  # ended calls not counted
    finally:
        server.stop()


async def test_turn_credentials_are_not_handed_out_in_bulk(tmp_path: Path) -> None:
    """Finding 3: 50 credential sets in 0.12 s from the diagnostics, 20 from ice.refresh."""
    server = start_server(tmp_path, AVATARCALL_DIAGNOSTICS_PER_ADDRESS="5",
                          AVATARCALL_TURN_URLS='["turn:127.0.0.1:3478"]',
                          AVATARCALL_TURN_SECRET="bulk-secret")
    try:
        async with server.client() as http:
            statuses = [(await http.get("/api/diagnostics/config")).status_code for _ in range(8)]
            assert statuses == [200] * 5 + [429] * 3
            refused = await http.get("/api/diagnostics/config")
            assert refused.json()["code"] == "rate_limited"
            assert 1 <= int(refused.headers["retry-after"]) <= 60
        ticket = await new_call(server)
        async with customer(server, ticket) as ws:
            replies = []
            for _ in range(6):
                await send(ws, {"type": "ice.refresh"})
            for message in await until_pong(ws):
                if message["type"] in ("ice.servers", "error"):
                    replies.append(message.get("code", message["type"]))
            assert replies == ["ice.servers"] * 3 + ["rate_limited"] * 3
    finally:
        server.stop()


async def login(server: Server, name: str, password: str, address: str) -> httpx.Response:
    async with server.client() as http:
        return await http.post("/api/login", json={"name": name, "password": password},
                               headers={"X-Forwarded-For": address})


async def test_wrong_passwords_cannot_lock_an_agent_out(server: Server) -> None:
    """Finding 4: five wrong passwords locked any name for everyone; one address's failures
    locked a whole team behind its NAT."""
    name, password = DEMO_AGENT
    for _ in range(5):
        assert (await login(server, name, "wrong-password", "198.51.100.66")).status_code == 401
    locked = await login(server, name, password, "198.51.100.66")
    assert (locked.status_code, locked.json()["code"]) == (429, "too_many_attempts")
    # The agent signing in from anywhere else is not locked out.
    assert (await login(server, name, password, "203.0.113.66")).status_code == 200
    # A team behind one NAT: a few typos of several agents lock nobody.
    for i in range(10):
        assert (await login(server, f"typo{i}", "wrong-password", "203.0.113.77")).status_code == 401
    assert (await login(server, name, password, "203.0.113.77")).status_code == 200


async def test_the_first_admin_is_made_once_shown_once_and_can_be_turned_off(
        tmp_path: Path) -> None:
    """Finding 5: the demo admin was recreated at every start with a new password in the log."""
    env = {"AVATARCALL_DEMO_AGENT": ""}  # unset: a generated password
    first = start_server(tmp_path / "a", **env)
    try:
        secret_file = tmp_path / "a" / "first-admin.txt"
        name, password = secret_file.read_text().splitlines()[:2]
        assert name == "agent" and len(password) >= 12
        assert oct(secret_file.stat().st_mode)[-3:] == "600"
        assert password not in first.log.read_text()  # a log reader is not an admin
        assert (await login(first, name, password, "127.0.0.1")).status_code == 200
    finally:
        first.stop()
    secret_file.unlink()
    again = start_server(tmp_path / "a", **env)  # a restart: nothing new, nothing reset
    try:
        assert not secret_file.exists()
        assert (await login(again, name, password, "127.0.0.1")).status_code == 200
        assert "first admin" not in again.log.read_text()
    finally:
        again.stop()
    off = start_server(tmp_path / "b", AVATARCALL_DEMO_AGENT="off")
    try:
        assert not (tmp_path / "b" / "first-admin.txt").exists()
        assert (await login(off, "agent", password, "127.0.0.1")).status_code == 401
        assert "agents        : none yet" in off.log.read_text()
    finally:
        off.stop()


def test_a_short_demo_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="at least 8 characters"):
        start_server(tmp_path, AVATARCALL_DEMO_AGENT="alice:short")


async def test_signing_out_ends_the_session_on_the_server(server: Server) -> None:
    """Finding 6: a copied cookie kept working for 12 h after sign-out."""
    cookie = await agent_cookie(server)
    async with server.client(cookies={"avatarcall_agent": cookie}) as http:
        assert (await http.get("/api/me")).status_code == 200
        assert (await http.post("/api/logout")).status_code == 200
    async with server.client(cookies={"avatarcall_agent": cookie}) as http:  # the copy
        response = await http.get("/api/me")
    assert (response.status_code, response.json()["code"]) == (401, "session_ended")
    other = await agent_cookie(server)  # another session of the same agent goes on
    async with server.client(cookies={"avatarcall_agent": other}) as http:
        assert (await http.get("/api/me")).status_code == 200


async def test_pages_cannot_grow_the_metrics_or_falsify_the_report(server: Server) -> None:
    """Findings 7 and 8: each new error code became a series on /metrics; back-dated events and
    3600 s connect times entered the report's tables."""
    ticket = await new_call(server)
    async with server.client() as http:
        before = (await http.get("/metrics")).text
    async with customer(server, ticket) as ws:
        for batch in range(4):
            events = [{"at": 0, "link": "call", "kind": "error", "code": f"made_up_{batch}_{i}"}
                      for i in range(50)]
            await send(ws, {"type": "telemetry", "call_id": ticket["call_id"], "events": events})
        await send(ws, {"type": "telemetry", "call_id": ticket["call_id"], "events": [
            {"at": 1, "link": "call", "kind": "connected", "elapsed_ms": 3_600_000}]})
        await until_pong(ws)
    async with server.client() as http:
        after = (await http.get("/metrics")).text
    assert "made_up" not in after
    assert len(after) - len(before) < 2_000  # a handful of counters moved, no new series flood
    assert re.search(r'avatarcall_errors_total\{[^}]*code="other"[^}]*\} [1-9]', after)
    assert re.search(r'avatarcall_telemetry_rejected_total\{code="implausible"\} [1-9]', after)
    connect_count = re.search(r'avatarcall_connect_seconds_count\{link="call"\} (\S+)', after)
    assert connect_count is None or connect_count.group(1) == re.search(
        r'avatarcall_connect_seconds_count\{link="call"\} (\S+)', before).group(1)  # type: ignore[union-attr]
    cookie = await agent_cookie(server)
    async with server.client(cookies={"avatarcall_agent": cookie}) as http:
        record = (await http.get(f"/api/calls/{ticket['call_id']}")).json()
    created = record["call"]["created_at"]
    assert all(e["at"] >= created for e in record["events"])  # nothing back-dated


def udp_listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def probes_received(sock: socket.socket, seconds: float) -> int:
    count, deadline = 0, asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        try:
            sock.recv(2048)
            count += 1
        except BlockingIOError:
            await asyncio.sleep(0.05)
    return count


def offer_naming_only(port: int, sdp: str) -> str:
    lines = [line for line in sdp.splitlines() if not line.startswith("a=candidate:")]
    at = next(i for i, line in enumerate(lines) if line.startswith("a=mid:"))
    lines.insert(at + 1, f"a=candidate:1 1 udp 2122260223 127.0.0.1 {port} typ host")
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("networks", ["default", "loopback allowed"])
async def test_the_servers_links_probe_only_where_allowed(tmp_path: Path, networks: str) -> None:
    """Finding 9: an offer whose only candidate was 127.0.0.1:19999 made the server send STUN
    there. By default loopback (and link-local, multicast) is refused; a test that allows it
    shows the probe would otherwise arrive."""
    allowed = ["127.0.0.0/8"] if networks == "loopback allowed" else ["global", "10.0.0.0/8"]
    server = start_server(tmp_path, AVATARCALL_AVATAR_PEER_NETWORKS=json.dumps(allowed))
    sock = udp_listener()
    pc, sdp = await offer_sdp()
    try:
        async with server.client() as http:
            response = await http.post("/api/diagnostics/avatar", json={
                "sdp": offer_naming_only(sock.getsockname()[1], sdp)})
        assert response.status_code == 200
        probes = await probes_received(sock, 3.0)
        assert (probes > 0) is (networks == "loopback allowed")
        # aioice's INFO lines (every pair, every check) stay out of the server's log.
        assert " INFO aioice" not in server.log.read_text()
    finally:
        sock.close()
        await pc.close()
        server.stop()


async def test_only_this_servers_names_are_answered(server: Server) -> None:
    """Finding 10: any Host was accepted (DNS rebinding); integration links took the caller's."""
    port = server.url.rsplit(":", 1)[1]
    async with server.client() as http:
        for host in ("evil.example", f"evil.example:{port}", "calls.example.com.evil.example"):
            response = await http.get("/api/diagnostics/config", headers={"Host": host})
            assert (response.status_code, response.json()["code"]) == (421, "bad_host"), host
        for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
            assert (await http.get("/healthz", headers={"Host": host})).status_code == 200
    ticket = await new_call(server)
    assert await upgrade_status(server, ticket["token"], "evil.example") == 403
    assert await upgrade_status(server, ticket["token"], f"127.0.0.1:{port}") == 101


async def upgrade_status(server: Server, token: str, host: str) -> int:
    """The status a WebSocket upgrade with this Host header gets (a raw request: clients set
    the Host themselves)."""
    address, port = server.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(address, int(port))
    writer.write((f"GET /ws?token={token} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), TIMEOUT)
    writer.close()
    return int(status.split()[1])


async def test_odd_report_periods_and_token_responses(server: Server) -> None:
    """Findings 11 and 13: ``since=-inf`` made a 500; token responses could be cached."""
    cookie = await agent_cookie(server)
    async with server.client(cookies={"avatarcall_agent": cookie}) as http:
        for since in ("-inf", "nan", "inf"):
            response = await http.get("/api/admin/report", params={"since": since})
            assert (response.status_code, response.json()["code"]) == (422, "bad_message")
        for response in (await http.post("/api/calls", json={}),
                         await http.get("/api/diagnostics/config"),
                         await http.post("/api/login", json=dict(zip(("name", "password"),
                                                                     DEMO_AGENT)))):
            assert response.headers["cache-control"] == "no-store"


async def test_a_second_socket_of_the_same_customer_replaces_the_first(server: Server) -> None:
    """Smaller finding: two sockets with one customer token doubled the per-socket limits."""
    ticket = await new_call(server)
    async with customer(server, ticket) as first, customer(server, ticket) as second:
        error = await receive(first, "error")
        assert error["code"] == "replaced"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(first.recv(), TIMEOUT)
        assert first.close_code == 4409
        assert not [m for m in await until_pong(second) if m["type"] == "error"]
