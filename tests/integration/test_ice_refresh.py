"""Pages get TURN credentials of their own, and fresh ones when they ask before expiry."""

from __future__ import annotations

import re
from pathlib import Path

from avatarcall.testing.server import start_server
from avatarcall.testing.signaling import customer, new_call, receive, send


async def test_pages_get_their_own_credentials_and_can_refresh_them(tmp_path: Path) -> None:
    server = start_server(tmp_path, AVATARCALL_TURN_URLS='["turn:127.0.0.1:3478?transport=udp"]',
                          AVATARCALL_TURN_SECRET="refresh-secret", AVATARCALL_TURN_TTL="120",
                          AVATARCALL_TURN_URLS_AVATAR='["turn:127.0.0.2:3478?transport=udp"]',
                          AVATARCALL_TURN_SECRET_AVATAR="avatar-secret")
    try:
        ticket = await new_call(server)
        async with customer(server, ticket) as ws:
            await send(ws, {"type": "ice.refresh"})
            fresh = await receive(ws, "ice.servers")
        assert fresh["refresh_in"] == 96  # 80% of the 120 s lifetime
        call, avatar = fresh["call"][0], fresh["avatar"][0]
        assert call["urls"] == ["turn:127.0.0.1:3478?transport=udp"]
        assert avatar["urls"] == ["turn:127.0.0.2:3478?transport=udp"]  # a pool of its own
        # The TURN identity is the tab's server-made id: no name anyone typed.
        assert re.fullmatch(r"\d+:customer-[0-9a-f]{32}", call["username"])
        assert call["credential"] != avatar["credential"]
        log = server.log.read_text()
        assert "refresh-secret" not in log and "avatar-secret" not in log
    finally:
        server.stop()
