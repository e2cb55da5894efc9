"""The core promise, as two people live it: the avatar before, during and after the call, and the
call never disturbed by it (ARCHITECTURE.md rule 1)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from playwright.async_api import expect

from avatarcall.testing.browser import (
    Person,
    agent_accepts,
    agent_logs_in,
    assert_video_flows,
    audio_level,
    by_testid,
    call_id_of,
    center_colour,
    connected_pair,
    customer_starts_call,
    state_history,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

HEARD = 0.01  # RMS of a speaking avatar is ~0.05-0.2; silence is 0






async def assert_never_left_connected(*people: Person) -> None:
    for person in people:
        assert set(await state_history(person, "call-state")) == {"connected"}


async def test_avatar_greets_then_call_connects_then_avatar_says_goodbye(browser, server) -> None:
    customer = await customer_starts_call(browser, server.url, "fr-FR")
    await customer.expect_state("avatar-state", "live")
    assert await audio_level(customer, ms=2500) > HEARD  # the greeting is heard while waiting

    agent = await agent_logs_in(browser, server.url)
    item = agent.page.locator(f'[data-testid="queue-item"][data-call-id="{await call_id_of(customer)}"]')
    await expect(item).to_contain_text(" s")  # the waiting time is shown
    await agent_accepts(agent, await call_id_of(customer))
    for person in (customer, agent):
        await person.expect_state("call-state", "connected")
        await person.expect_state("avatar-state", "live")  # beside: customer sees it, agent previews it
    await expect(by_testid(customer.page, "remote-video")).to_be_visible()
    await assert_video_flows(customer, agent)

    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    await agent.expect_state("call-state", "ended")
    await customer.expect_state("avatar-state", "live")
    assert await audio_level(customer, ms=3000) > HEARD  # the goodbye is heard
    await customer.close()
    await agent.close()


async def test_call_stays_connected_with_avatar_live_and_mode_switches(browser, server) -> None:
    customer, agent = await connected_pair(browser, server.url, avatar_live=False)
    await customer.expect_state("avatar-state", "live")
    for _ in range(10):  # 20 s with the avatar live, video checked all along
        await assert_video_flows(customer, agent)
    mode = by_testid(agent.page, "avatar-mode")
    for i in range(10):
        await mode.select_option(["off", "overlay", "beside"][i % 3])
        await asyncio.sleep(0.4)
    await mode.select_option("beside")
    await customer.expect_state("avatar-state", "live")
    await assert_video_flows(customer, agent)
    await assert_never_left_connected(customer, agent)
    await customer.close()
    await agent.close()


async def test_overlay_and_off_modes_show_what_they_say(browser, server) -> None:
    customer, agent = await connected_pair(browser, server.url, avatar_live=False)
    await by_testid(agent.page, "avatar-mode").select_option("overlay")
    await expect(by_testid(customer.page, "avatar-overlay")).to_be_visible()
    await expect(by_testid(customer.page, "avatar-video")).to_be_hidden()
    await by_testid(agent.page, "avatar-mode").select_option("off")
    await customer.expect_state("avatar-state", "off")
    await expect(by_testid(customer.page, "avatar-overlay")).to_be_hidden()
    await by_testid(agent.page, "avatar-after").select_option("off")
    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    await asyncio.sleep(1)
    assert await customer.state("avatar-state") == "off"
    await customer.close()
    await agent.close()


async def test_avatar_crash_stop_and_restart_never_touch_the_call(browser, server) -> None:
    customer, agent = await connected_pair(browser, server.url, avatar_live=False)
    await customer.expect_state("avatar-state", "live")
    call_id = await call_id_of(customer)
    fault = f"{server.url}/api/debug/calls/{call_id}/avatar/fault"

    async with httpx.AsyncClient() as http:
        assert (await http.post(fault, json={"kind": "crash"})).status_code == 200
    await customer.expect_state("avatar-state", "error")
    await expect(by_testid(customer.page, "avatar-error")).to_contain_text("unexpectedly")
    await expect(by_testid(customer.page, "avatar-video")).to_be_hidden()  # no frozen frame
    await customer.expect_state("avatar-state", "live")  # restarted on its own
    await assert_video_flows(customer, agent)

    async with httpx.AsyncClient() as http:
        assert (await http.post(fault, json={"kind": "stop"})).status_code == 200
    await customer.expect_state("avatar-state", "error")
    await expect(by_testid(customer.page, "avatar-error")).to_contain_text("stopped")
    await assert_video_flows(customer, agent)
    await by_testid(agent.page, "avatar-restart").click()
    await customer.expect_state("avatar-state", "live")
    await agent.expect_state("avatar-state", "live")

    await assert_video_flows(customer, agent)
    await assert_never_left_connected(customer, agent)
    await customer.close()
    await agent.close()


async def test_two_calls_at_once_are_isolated(browser, server) -> None:
    colours = {"red": "#ff0000", "blue": "#0000ff"}
    pairs = []
    for name, colour in colours.items():
        customer = await customer_starts_call(browser, server.url)
        agent = await agent_logs_in(browser, server.url, colour=colour)
        await agent_accepts(agent, await call_id_of(customer))
        pairs.append((name, customer, agent))
    for name, customer, agent in pairs:
        await customer.expect_state("call-state", "connected")
        await agent.expect_state("call-state", "connected")
    await asyncio.sleep(1.5)
    for name, customer, _ in pairs:  # each customer sees their own agent's camera
        r, g, b = await center_colour(customer)
        assert (r > 200 and b < 60) if name == "red" else (b > 200 and r < 60), (name, r, g, b)

    # The avatar of call A speaks: customer A hears it, customer B does not.
    (_, customer_a, agent_a), (_, customer_b, _) = pairs
    for customer in (customer_a, customer_b):
        await customer.expect_state("avatar-state", "live")
    for _ in range(20):  # let the greetings finish
        levels = await asyncio.gather(audio_level(customer_a, ms=600), audio_level(customer_b, ms=600))
        if max(levels) < HEARD:
            break
    await by_testid(agent_a.page, "avatar-say").fill("This message is only for the first customer.")
    await by_testid(agent_a.page, "avatar-say-submit").click()
    level_a, level_b = await asyncio.gather(audio_level(customer_a, ms=2500), audio_level(customer_b, ms=2500))
    assert level_a > HEARD and level_b < HEARD, (level_a, level_b)
    for _, customer, agent in pairs:
        await customer.close()
        await agent.close()
