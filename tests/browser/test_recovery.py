"""Back after any cut, without a reload: the signaling socket, a page reload, a server restart."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from avatarcall.testing.browser import (
    assert_video_flows,
    by_testid,
    call_id_of,
    connected_pair,
    state_history,
)
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
