"""Talking to the assistant while waiting, as people do it in Chromium: a typed question
answered from the FAQ in the conversation panel and aloud, what it cannot answer kept for the
agent, and the agent's console showing the conversation when they take the call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from avatarcall.testing.browser import (
    PHONE,
    TIMEOUT,
    agent_accepts,
    agent_logs_in,
    audio_level,
    by_testid,
    call_id_of,
    customer_starts_call,
    unexpected,
)
from avatarcall.testing.server import Server, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("conversation"))
    yield server
    server.stop()


async def ask(person, text: str) -> None:
    await by_testid(person.page, "say-to-assistant").fill(text)
    await by_testid(person.page, "say-to-assistant-submit").click()


async def test_a_typed_question_is_answered_and_the_agent_is_handed_the_conversation(
        browser, site: Server) -> None:
    customer = await customer_starts_call(browser, site.url, "en-US", viewport=PHONE)
    await customer.expect_state("avatar-state", "live")
    items = customer.page.get_by_test_id("conversation-item")
    await ask(customer, "Do you take PayPal?")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_have_attribute("data-role", "customer")
    await expect(items.nth(1)).to_have_attribute("data-role", "assistant")
    await expect(items.nth(1)).to_contain_text("PayPal")
    assert await audio_level(customer) > 0.01  # the assistant says it too
    await ask(customer, "My washing machine makes a strange noise")
    await expect(items.nth(2)).to_have_attribute("data-open", "true")  # kept for the agent
    await expect(items.nth(3)).to_contain_text("noted it for the advisor")

    agent = await agent_logs_in(browser, site.url)
    await agent_accepts(agent, await call_id_of(customer))
    transcript = by_testid(agent.page, "handover-transcript")
    await expect(transcript).to_be_visible(timeout=TIMEOUT)
    await expect(transcript.locator("li")).to_have_count(4)
    await expect(transcript.locator("li[data-open]")).to_contain_text("washing machine")
    await customer.expect_state("call-state", "connected")
    await expect(by_testid(customer.page, "conversation")).to_be_hidden()  # the agent talks now
    await expect(by_testid(customer.page, "captions")).to_contain_text("handing you over to alice")
    for person in (customer, agent):
        assert unexpected(person) == [], person.errors
        await person.close()
