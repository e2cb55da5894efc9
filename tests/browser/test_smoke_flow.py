"""The whole flow, as two people would live it."""

from __future__ import annotations

import asyncio

import pytest

from tests.browser.people import agent_accepts, agent_logs_in, by_testid, customer_starts_call

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_customer_waits_with_avatar_then_talks_to_agent_then_sees_goodbye(browser, server) -> None:
    customer = await customer_starts_call(browser, server.url, "fr-FR")
    await customer.expect_state("avatar-state", "live")
    agent = await agent_logs_in(browser, server.url)
    await agent_accepts(agent)
    await customer.expect_state("call-state", "connected")
    await agent.expect_state("call-state", "connected")
    await customer.expect_state("avatar-state", "live")
    for person in (customer, agent):
        before = await person.decoded_frames("remote-video")
        await asyncio.sleep(1.5)
        assert await person.decoded_frames("remote-video") > before
    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    await agent.expect_state("call-state", "ended")
    await customer.expect_state("avatar-state", "live")
    await customer.page.screenshot(path="/tmp/customer_after.png")
    await customer.close()
    await agent.close()
