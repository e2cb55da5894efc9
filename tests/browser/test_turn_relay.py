"""Through TURN only, and back after the TURN server restarts: a real coturn on 127.0.0.1,
credentials minted by our server, pages in relay-only mode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from avatarcall.testing.browser import (
    Person,
    call_id_of,
    connected_pair,
    frames_decoded,
    state_history,
)
from avatarcall.testing.coturn import Coturn
from avatarcall.testing.server import Server, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

from tests.browser.conftest import TURN_SECRET as SECRET


@pytest.fixture(scope="module")
def relay_server(tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[Server]:
    server = start_server(
        tmp_path_factory.mktemp("relay-server"),
        AVATARCALL_TURN_URLS=f'["{coturn.url}"]',
        AVATARCALL_TURN_SECRET=SECRET,
        AVATARCALL_ICE_RELAY_ONLY="true",
        AVATARCALL_TURN_TTL="120",
    )
    yield server
    server.stop()




async def candidate_types(server: Server, call_id: str) -> dict[str, set[str]]:
    """The selected candidate types each link reported in its getStats summaries."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.post("/api/login", json={"name": "alice", "password": "correct-horse"})
        events = (await http.get(f"/api/calls/{call_id}")).json()["events"]
    found: dict[str, set[str]] = {"call": set(), "avatar": set()}
    for e in events:
        if e["kind"] in ("call.stats", "avatar.stats") and "candidate_type" in e["detail"]:
            found[e["kind"].split(".")[0]].add(e["detail"]["candidate_type"])
    return found


async def video_flowing(person: Person, within: float = 60.0) -> bool:
    """Whether the call's video decodes again (framesDecoded rising) within ``within`` s."""
    last = await frames_decoded(person)
    for _ in range(int(within)):
        await asyncio.sleep(1)
        now = await frames_decoded(person)
        if now > last + 5:
            return True
        last = now
    return False


async def test_call_and_avatar_connect_through_turn_only(browser, relay_server: Server) -> None:
    customer, agent = await connected_pair(browser, relay_server.url)
    call_id = await call_id_of(customer)
    for _ in range(30):  # stats summaries come every 5 s
        found = await candidate_types(relay_server, call_id)
        if found["call"] and found["avatar"]:
            break
        await asyncio.sleep(1)
    assert found == {"call": {"relay"}, "avatar": {"relay"}}, found
    assert await video_flowing(customer, 10) and await video_flowing(agent, 10)
    await customer.close()
    await agent.close()


async def test_the_call_comes_back_after_coturn_restarts(browser, relay_server: Server,
                                                          coturn: Coturn) -> None:
    customer, agent = await connected_pair(browser, relay_server.url)
    coturn.stop()
    await asyncio.sleep(5)
    coturn.start()  # a new process: every allocation is gone, the relays must be rebuilt
    for person in (customer, agent):  # no reload: ICE restarts and a rebuilt avatar link
        assert await video_flowing(person)
        await person.expect_state("call-state", "connected", timeout=60_000)
        await person.expect_state("avatar-state", "live", timeout=60_000)
        assert "reconnecting" in await state_history(person, "call-state")
    await customer.close()
    await agent.close()
