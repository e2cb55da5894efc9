"""A server restart loses no record: calls, participants and their timeline are in SQLite."""

from __future__ import annotations

from pathlib import Path

import httpx

from avatarcall.testing.server import start_server
from avatarcall.testing.signaling import agent, agent_cookie, customer, new_call, receive, send


async def test_records_survive_a_restart(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        cookie = await agent_cookie(server)
        ended = await new_call(server)
        waiting = await new_call(server, "en-GB")
        async with customer(server, ended) as ws_customer, agent(server, cookie) as ws_agent:
            await send(ws_agent, {"type": "call.accept", "call_id": ended["call_id"]})
            await receive(ws_customer, "call.started")
            await send(ws_agent, {"type": "call.end", "call_id": ended["call_id"]})
            await receive(ws_customer, "call.state", state="ended")
    finally:
        server.stop()

    server = start_server(tmp_path)  # same data directory
    try:
        cookie = await agent_cookie(server)
        async with httpx.AsyncClient(base_url=server.url, cookies={"avatarcall_agent": cookie}) as http:
            record = (await http.get(f"/api/calls/{ended['call_id']}")).json()
            assert record["call"]["state"] == "ended"
            assert record["call"]["agent"] == "alice"
            states = [e["detail"]["state"] for e in record["events"] if e["kind"] == "state"]
            assert states == ["waiting", "connecting", "ended"]
            assert (await http.get("/api/calls/nope")).json()["code"] == "unknown_call"
        async with agent(server, cookie) as ws_agent:  # the waiting customer kept their place
            await send(ws_agent, {"type": "ping"})
        async with customer(server, waiting) as ws_customer:  # and their link still works
            view = await receive(ws_customer, "avatar.view")
            assert view["view"] == "stream"
    finally:
        server.stop()
