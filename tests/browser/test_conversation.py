"""Talking to the assistant while waiting, as people do it in Chromium: a typed question
answered from the FAQ in the conversation panel and aloud, what it cannot answer kept for the
agent, and the agent's console showing the conversation when they take the call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect

from avatarcall.testing.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
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
from avatarcall.testing.voice import write_voice_wav

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


QUESTION = "What are your opening hours"


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The customer's question, spoken (espeak-ng), as Chromium's fake microphone."""
    return write_voice_wav(tmp_path_factory.mktemp("voice") / "question.wav", QUESTION, pause=3.0)


@pytest_asyncio.fixture(loop_scope="session")
async def speaking_browser(question_wav: Path):
    async with async_playwright() as p:
        args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={question_wav}"]
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        yield browser
        await browser.close()


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


async def test_a_spoken_question_is_heard_and_answered(speaking_browser, site: Server) -> None:
    customer = await customer_starts_call(speaking_browser, site.url, "en-US", viewport=PHONE)
    await customer.expect_state("avatar-state", "live")
    mic = by_testid(customer.page, "mic-toggle")
    await expect(mic).to_be_visible()  # English is heard here
    await mic.click()
    await expect(mic).to_have_attribute("aria-pressed", "true")
    # The fake microphone plays the question in a loop from the browser's start: the first
    # turn heard may begin mid-sentence; the next one is whole.
    asked = customer.page.locator('[data-testid="conversation-item"][data-spoken="true"]',
                                  has_text="opening hours")
    await expect(asked.first).to_be_visible(timeout=30_000)
    answer = customer.page.locator('[data-spoken="true"] + [data-role="assistant"]',
                                   has_text="Saturday")
    await expect(answer.first).to_be_visible()
    await mic.click()  # done talking
    await expect(mic).to_have_attribute("aria-pressed", "false")
    await customer.expect_state("avatar-state", "live")  # the avatar never went away
    assert unexpected(customer) == [], customer.errors
    await customer.close()
