"""Signaling clients for tests and benchmarks: REST calls and WebSocket helpers against a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from avatarcall.testing.server import DEMO_AGENT, Server

TIMEOUT = 10.0  # seconds any single expected message may take; a safety net, not a measurement


async def new_call(server: Server, language: str = "fr-FR") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/api/calls", json={"language": language})
    assert response.status_code == 200, response.text
    return response.json()


async def agent_cookie(server: Server) -> str:
    name, password = DEMO_AGENT
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/api/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    return response.cookies["avatarcall_agent"]


def ws_url(server: Server, token: str | None = None) -> str:
    url = server.url.replace("http://", "ws://", 1) + "/ws"
    return f"{url}?token={token}" if token is not None else url


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
    async with connect(ws_url(server, ticket["token"])) as ws:
        welcome = await receive(ws, "welcome")
        assert welcome["role"] == "customer"
        assert welcome["call"]["call_id"] == ticket["call_id"]
        yield ws


@asynccontextmanager
async def agent(server: Server, cookie: str) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(server),
                       additional_headers={"Cookie": f"avatarcall_agent={cookie}"}) as ws:
        welcome = await receive(ws, "welcome")
        assert welcome["role"] == "agent"
        await receive(ws, "queue")
        yield ws
