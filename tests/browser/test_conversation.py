"""Talking to the assistant while waiting, as people do it in Chromium: a typed question
answered from the FAQ in the conversation panel and aloud, what it cannot answer kept for the
agent, and the agent's console showing the conversation when they take the call."""

from __future__ import annotations

import asyncio
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
    audio_levels,
    by_testid,
    call_id_of,
    customer_starts_call,
    unexpected,
)
from avatarcall.testing.chat import ChatServer
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


LONG_STORY = " ".join(f"This is sentence number {n} of a very long answer about our history."
                      for n in range(1, 13))


@pytest.fixture(scope="module")
def storyteller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose FAQ has an answer that takes a minute to say."""
    faq = tmp_path_factory.mktemp("faq")
    (faq / "en.yaml").write_text(
        "- id: history\n  questions: ['Tell me the story of your company']\n"
        f"  answer: {LONG_STORY}\n"
        "- id: opening-hours\n  questions: ['What are your opening hours?']\n"
        "  answer: We are open Monday to Friday, nine to six.\n")
    server = start_server(tmp_path_factory.mktemp("storyteller"), AVATARCALL_FAQ_DIR=str(faq))
    yield server
    server.stop()


# When the page first showed the assistant's answer to words said aloud (performance.now()).
WATCH_ANSWER = """
() => new MutationObserver((_, observer) => {
  if (document.querySelector('[data-spoken="true"] + [data-role="assistant"]')) {
    window.__answeredAt = performance.now();
    observer.disconnect();
  }
}).observe(document.getElementById('conversation-items'), { childList: true })
"""


def quiet_until(levels: list[tuple[float, float]], at: float, quiet: float = 0.005) -> float:
    """How long (s) the sound had been silent at ``at`` (page ms): the silence the answer ends."""
    heard = [(t, x) for t, x in levels if t <= at]
    end = heard[-1][0] if heard else at
    for t, x in reversed(heard):
        if x >= quiet:
            return (end - t) / 1000
    return (end - heard[0][0]) / 1000 if heard else 0.0


async def test_speaking_over_the_assistant_stops_it_at_once(speaking_browser,
                                                            storyteller: Server) -> None:
    customer = await customer_starts_call(speaking_browser, storyteller.url, "en-US")
    await customer.expect_state("avatar-state", "live")
    await by_testid(customer.page, "mic-toggle").click()
    await expect(by_testid(customer.page, "avatar-video")).to_be_visible()  # its new link
    await by_testid(customer.page, "mute").click()  # not a word yet
    await ask(customer, "Tell me the story of your company")
    story = customer.page.locator('[data-role="assistant"]', has_text="sentence number 12")
    await expect(story).to_be_visible()
    await asyncio.sleep(1.0)
    await customer.page.evaluate(WATCH_ANSWER)

    async def speak_up() -> None:
        await asyncio.sleep(1.0)
        await by_testid(customer.page, "mute").click()  # the customer talks over the story

    levels, _ = await asyncio.gather(audio_levels(customer, ms=10_000), speak_up())
    answered_at = await customer.page.evaluate("window.__answeredAt ?? null")
    assert answered_at is not None, "the spoken words were not answered"
    assert max(x for t, x in levels if t < levels[0][0] + 1000) > 0.02  # the story was heard
    # Cut off 0.4 s into the customer's words, the story is silent while they finish, before
    # the words are even recognised; without that, it would go on until the answer replaced it.
    assert quiet_until(levels, answered_at + 100) >= 0.5, (answered_at, levels)
    assert unexpected(customer) == [], customer.errors
    await customer.close()


async def test_quick_replies_in_the_customers_language(browser, site: Server) -> None:
    customer = await customer_starts_call(browser, site.url, "fr-FR", viewport=PHONE)
    quick = customer.page.get_by_test_id("quick-reply")
    await expect(quick.first).to_have_text("Combien de temps d’attente ?")
    await quick.first.click()
    answer = customer.page.locator('[data-testid="conversation-item"][data-role="assistant"]')
    await expect(answer).to_contain_text("Aucun conseiller n’est en ligne")  # nobody signed in
    await by_testid(customer.page, "hang-up").click()
    await expect(quick).to_have_count(0)  # nothing about the wait once it is over
    assert unexpected(customer) == [], customer.errors
    await customer.close()


@pytest.fixture(scope="module")
def chatty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose assistant speaks through an OpenAI-compatible chat model (on loopback)."""
    chat = ChatServer().start()
    server = start_server(tmp_path_factory.mktemp("chatty"), AVATARCALL_CHAT_URL=chat.url,
                          AVATARCALL_CHAT_MODEL="tiny")
    yield server
    server.stop()
    chat.stop()


async def test_the_chat_models_answer_is_shown_and_spoken(browser, chatty: Server) -> None:
    customer = await customer_starts_call(browser, chatty.url, "en-US", viewport=PHONE)
    await customer.expect_state("avatar-state", "live")
    await ask(customer, "Do you take PayPal?")
    answer = customer.page.locator('[data-testid="conversation-item"][data-role="assistant"]')
    await expect(answer).to_have_text(
        "Good question. We accept bank cards, PayPal and bank transfers. Anything else?")
    assert await audio_level(customer) > 0.01
    assert unexpected(customer) == [], customer.errors
    await customer.close()


@pytest.fixture(scope="module")
def french_ears(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, ChatServer]]:
    """A server hearing French through a transcription endpoint (on loopback, standing in for
    a hosted one: it answers the same words for any speech)."""
    endpoint = ChatServer().start()
    endpoint.transcript = "Acceptez-vous PayPal ?"
    server = start_server(tmp_path_factory.mktemp("french"), AVATARCALL_SPEECH_RECOGNIZER="openai",
                          AVATARCALL_TRANSCRIPTION_URL=endpoint.url,
                          AVATARCALL_TRANSCRIPTION_LANGUAGES='["fr"]')
    yield server, endpoint
    server.stop()
    endpoint.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def french_speaker(tmp_path_factory: pytest.TempPathFactory):
    wav = write_voice_wav(tmp_path_factory.mktemp("voix") / "question.wav",
                          "Acceptez-vous PayPal ?", "fr", pause=3.0)
    async with async_playwright() as p:
        args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"]
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        yield browser
        await browser.close()


async def test_french_is_heard_through_a_transcription_endpoint(french_speaker, french_ears) -> None:
    server, endpoint = french_ears
    customer = await customer_starts_call(french_speaker, server.url, "fr-FR", viewport=PHONE)
    await customer.expect_state("avatar-state", "live")
    mic = by_testid(customer.page, "mic-toggle")
    await expect(mic).to_have_text("Parler")  # French is heard here
    await mic.click()
    asked = customer.page.locator('[data-spoken="true"]', has_text="PayPal")
    await expect(asked.first).to_be_visible(timeout=30_000)
    answer = customer.page.locator('[data-spoken="true"] + [data-role="assistant"]',
                                   has_text="Nous acceptons")
    await expect(answer.first).to_be_visible()
    fields, wav = endpoint.uploads[-1]
    assert fields["language"] == "fr" and wav.startswith(b"RIFF")  # the customer's words, sent
    assert unexpected(customer) == [], customer.errors
    await customer.close()
