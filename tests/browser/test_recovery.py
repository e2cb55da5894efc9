"""Back after any cut, without a reload: the signaling socket, a page reload, a server restart."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import httpx
import pytest
from playwright.async_api import WebSocketRoute, expect

from avatarcall.testing.browser import (
    agent_accepts,
    agent_logs_in,
    assert_video_flows,
    by_testid,
    call_id_of,
    connected_pair,
    new_person,
    state_history,
)
from avatarcall.testing.media_probe import PEER_CONNECTIONS, watch
from avatarcall.testing.server import free_port, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]






async def test_signaling_cut_leaves_media_flowing_and_the_page_resumes(browser, server) -> None:
    customer, agent = await connected_pair(browser, server.url)
    call_id = await call_id_of(customer)
    async with httpx.AsyncClient() as http:
        for role in ("customer", "agent"):
            response = await http.post(f"{server.url}/api/debug/calls/{call_id}/signaling/drop",
                                       json={"role": role})
            assert response.json()["ok"] is True
    await assert_video_flows(customer, agent)
    # The state resumes: what the agent does now still reaches the customer.
    await by_testid(agent.page, "avatar-mode").select_option("overlay")
    await expect(by_testid(customer.page, "avatar-overlay")).to_be_visible(timeout=15_000)
    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    assert set(await state_history(customer, "call-state")) == {"connected", "ended"}
    await customer.close()
    await agent.close()


async def test_an_agent_reload_takes_the_call_back(browser, server) -> None:
    customer, agent = await connected_pair(browser, server.url)
    await agent.page.reload()
    await agent.expect_state("call-state", "connected")
    await customer.expect_state("call-state", "connected")
    await agent.expect_state("avatar-state", "live")
    await assert_video_flows(customer, agent)
    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    await customer.close()
    await agent.close()


async def test_a_customer_reload_takes_the_call_back(browser, server) -> None:
    customer, agent = await connected_pair(browser, server.url)
    await customer.page.reload()
    await customer.expect_state("call-state", "connected")
    await agent.expect_state("call-state", "connected")
    await customer.expect_state("avatar-state", "live")
    await assert_video_flows(customer, agent)
    await customer.close()
    await agent.close()


async def test_server_killed_and_restarted_mid_call(browser, tmp_path: Path) -> None:
    port = free_port()
    server = start_server(tmp_path, port)
    try:
        customer, agent = await connected_pair(browser, server.url)
        call_id = await call_id_of(customer)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        await assert_video_flows(customer, agent)  # peer-to-peer media never needed the server
        server = start_server(tmp_path, port)
        for person in (customer, agent):
            await person.expect_state("call-state", "connected")
            await person.expect_state("avatar-state", "live")
        await assert_video_flows(customer, agent)
        # The call's record is intact and the call goes on: the agent can still end it.
        await by_testid(agent.page, "end-call").click()
        await customer.expect_state("call-state", "ended")
        async with httpx.AsyncClient(base_url=server.url) as http:
            await http.post("/api/login", json={"name": "alice", "password": "correct-horse"})
            record = (await http.get(f"/api/calls/{call_id}")).json()
        states = [e["detail"]["state"] for e in record["events"] if e["kind"] == "state"]
        assert states[:3] == ["waiting", "connecting", "connected"] and states[-1] == "ended"
        await customer.close()
        await agent.close()
    finally:
        server.stop()


# The page's call link: the connection that sends a camera (PEER_CONNECTIONS keeps them all).
CALL_PC = """() => window.__peerConnections.find((pc) => pc.connectionState !== 'closed'
  && pc.getSenders().some((s) => s.track?.kind === 'video'))"""


async def test_an_offer_lost_on_the_way_is_made_again(browser, server) -> None:
    """The server keeps no signal for a page that is away (both pages come back after a server
    restart, each offering before the other is there). The agent's ICE restart is lost on its
    way; it is rolled back and offered again, and the link renegotiated with new ICE
    credentials, instead of staying half-way until the next change of network."""
    losing: list[bool] = [False]
    lost: list[str] = []

    def lose_offers(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        ws.on_message(upstream.send)

        def down(message: str | bytes) -> None:
            signal = json.loads(message)
            if losing[0] and signal.get("description", {}).get("type") == "offer":
                losing[0] = False
                lost.append(signal["type"])
                return
            ws.send(message)
        upstream.on_message(down)

    customer = await new_person(browser, init_script=PEER_CONNECTIONS)
    await customer.context.route_web_socket(re.compile(r"/ws"), lose_offers)
    await customer.page.goto(server.url + "/")
    await by_testid(customer.page, "start-call").click()
    agent = await agent_logs_in(browser, server.url, init_script=PEER_CONNECTIONS)
    await agent_accepts(agent, await call_id_of(customer))
    for person in (customer, agent):
        await person.expect_state("call-state", "connected")
    ufrag = f"() => ({CALL_PC})().remoteDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1]"
    before = await customer.page.evaluate(ufrag)
    losing[0] = True
    await agent.page.evaluate(f"() => ({CALL_PC})().restartIce()")
    await customer.page.wait_for_function(f"() => ({ufrag})() !== {json.dumps(before)}",
                                          timeout=30_000)
    await agent.page.wait_for_function(f"() => ({CALL_PC})().signalingState === 'stable'",
                                       timeout=10_000)
    assert lost == ["call.signal"]
    for person in (customer, agent):  # painted, not only decoded
        assert (await watch(person, 2.0, ("remote-video",)))["remote-video"].fps > 5
    for person in (customer, agent):
        await person.expect_state("call-state", "connected")
    await customer.close()
    await agent.close()
