"""Signaling clients for tests and benchmarks: REST calls and WebSocket helpers against a real server."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from avatarcall.testing.server import DEMO_AGENT, Server

TIMEOUT = 10.0  # seconds any single expected message may take; a safety net, not a measurement


async def new_call(server: Server, language: str = "fr-FR") -> dict[str, Any]:
    async with server.client() as client:
        response = await client.post("/api/calls", json={"language": language})
    assert response.status_code == 200, response.text
    return response.json()


async def agent_cookie(server: Server) -> str:
    name, password = DEMO_AGENT
    async with server.client() as client:
        response = await client.post("/api/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    return response.cookies["avatarcall_agent"]


def ws_url(server: Server, token: str | None = None) -> str:
    url = server.url.replace("http", "ws", 1) + "/ws"
    return f"{url}?token={token}" if token is not None else url


def _ssl(server: Server) -> ssl.SSLContext | None:
    """For wss:// to a test server's self-signed certificate: encrypted, not verified."""
    if not server.tls:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def receive(ws: ClientConnection, kind: str, **match: Any) -> dict[str, Any]:
    """The next message of type ``kind`` (whose fields equal ``match``); others are skipped."""

    async def wait() -> dict[str, Any]:
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
                return message

    return await asyncio.wait_for(wait(), TIMEOUT)


async def send(ws: ClientConnection, message: dict[str, Any] | str | bytes) -> None:
    await ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))


@asynccontextmanager
async def customer(server: Server, ticket: dict[str, Any]) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(server, ticket["token"]), ssl=_ssl(server)) as ws:
        welcome = await receive(ws, "welcome")
        assert welcome["role"] == "customer"
        assert welcome["call"]["call_id"] == ticket["call_id"]
        yield ws


@asynccontextmanager
async def agent(server: Server, cookie: str) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(server), ssl=_ssl(server),
                       additional_headers={"Cookie": f"avatarcall_agent={cookie}"}) as ws:
        welcome = await receive(ws, "welcome")
        assert welcome["role"] == "agent"
        await receive(ws, "queue")
        yield ws


# --- checks shared by the signaling and security tests ------------------------------------

CLOSE_UNAUTHENTICATED = 4401


async def until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    """Send a ping; return every message that arrived before its pong."""
    await send(ws, {"type": "ping"})
    seen: list[dict[str, Any]] = []

    async def wait() -> list[dict[str, Any]]:
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == "pong":
                return seen
            seen.append(message)

    return await asyncio.wait_for(wait(), TIMEOUT)


async def rejected(ws: ClientConnection, message: dict[str, Any] | str | bytes,
                   code: str) -> dict[str, Any]:
    """Send ``message``: exactly one error with ``code`` comes back; a ping still gets a pong."""
    await send(ws, message)
    before_pong = await until_pong(ws)
    errors = [m for m in before_pong if m.get("type") == "error"]
    assert [e["code"] for e in errors] == [code], before_pong
    assert errors[0]["message"]
    assert not [m for m in before_pong if m.get("type") == "call.state"], before_pong
    return errors[0]


async def waiting_call_ids(server: Server, cookie: str) -> set[str]:
    """The queue as a freshly connected agent sees it."""
    async with connect(ws_url(server), ssl=_ssl(server),
                       additional_headers={"Cookie": f"avatarcall_agent={cookie}"}) as ws:
        queue = await receive(ws, "queue")
    return {item["call_id"] for item in queue["items"]}


async def assert_healthy(server: Server) -> None:
    assert server.process.poll() is None, "the server process died"
    async with server.client() as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["ok"] is True


async def accepted_call(server: Server, cookie: str, ws_agent: ClientConnection,
                        ws_customer: ClientConnection, call_id: str) -> None:
    await send(ws_agent, {"type": "call.accept", "call_id": call_id})
    started = await receive(ws_agent, "call.started")
    assert started["call"]["call_id"] == call_id and started["polite"] is False
    started = await receive(ws_customer, "call.started")
    assert started["call"]["call_id"] == call_id and started["polite"] is True


async def assert_relayed(sender: ClientConnection, receiver: ClientConnection, call_id: str,
                         candidate: str) -> None:
    """A call.signal from ``sender`` reaches ``receiver`` unchanged, and the call is still on."""
    await send(sender, {"type": "call.signal", "call_id": call_id,
                        "candidate": {"candidate": candidate, "sdpMid": "0", "sdpMLineIndex": 0}})
    relayed = await receive(receiver, "call.signal")
    assert relayed["call_id"] == call_id
    assert relayed["candidate"]["candidate"] == candidate


async def refused(url: str, headers: dict[str, str] | None = None) -> tuple[str, int | None]:
    """Connect and return the error code the server sends and the code it closes with."""
    async with connect(url, additional_headers=headers) as ws:
        error = await receive(ws, "error")
        try:
            message = await asyncio.wait_for(ws.recv(), TIMEOUT)
        except ConnectionClosed:
            return error["code"], ws.close_code
        raise AssertionError(f"still open after the error {error}: {message!r}")
