"""``avatarcall diagnose``: the server-side checks with an aiortc client, against real coturn."""

from __future__ import annotations

from pathlib import Path

from avatarcall.diagnose import _diagnose
from avatarcall.testing.coturn import free_port, start_coturn
from avatarcall.testing.server import start_server

SECRET = "diagnose-secret"


async def test_diagnose_passes_with_coturn_and_explains_a_dead_turn(tmp_path: Path) -> None:
    coturn = start_coturn(tmp_path / "coturn", SECRET)
    good = start_server(tmp_path / "good", AVATARCALL_STUN_URLS=f'["stun:127.0.0.1:{coturn.port}"]',
                        AVATARCALL_TURN_URLS=f'["{coturn.url}"]', AVATARCALL_TURN_SECRET=SECRET)
    bad = start_server(tmp_path / "bad", AVATARCALL_TURN_URLS=f'["turn:127.0.0.1:{free_port()}"]',
                       AVATARCALL_TURN_SECRET=SECRET)
    try:
        checks = {c.name: c for c in await _diagnose(good.url, seconds=2)}
        print({name: (c.status, c.detail) for name, c in checks.items()})
        assert {name: c.status for name, c in checks.items()} == {
            "server": "pass", "stun": "pass", "turn": "pass", "avatar": "pass"}
        checks = {c.name: c for c in await _diagnose(bad.url, seconds=2)}
        assert checks["turn"].status == "fail" and "no relay" in checks["turn"].detail
        assert checks["avatar"].status == "pass"
    finally:
        good.stop()
        bad.stop()
        coturn.stop()
