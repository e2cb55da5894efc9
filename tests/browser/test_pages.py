"""The pages as people meet them, on a phone (390x844) and a desktop (1280x800), in French and
English: one screen with no scrolling and the controls always there, every state and error in the
person's words (the machine value in data-state), an honest queue, captions, an end screen with a
rating that reaches the dashboard; the agent's console (who left, who joined while it was out of
sight, why a call ended, a timer, Say that tells why it cannot); and not one console error in a
whole flow."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from avatarcall.testing.browser import (
    DESKTOP,
    PHONE,
    TIMEOUT,
    agent_accepts,
    agent_logs_in,
    audio_level,
    by_testid,
    call_id_of,
    customer_starts_call,
    new_person,
    record_states,
    state_history,
    unexpected,
)
from avatarcall.testing.server import Server, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

WORDS = {
    "fr": {"title": "Contactez-nous", "waiting": "En attente", "connected": "Connecté",
           "no_agents": "Aucun conseiller", "next": "Vous êtes le prochain", "greeting": "Bonjour",
           "hang_up": "Raccrocher", "leave": "Quitter la file", "left": "quitté la file",
           "thanks": "Merci de votre appel", "hung_up": "Le client a raccroché.",
           "console": "Clients en attente", "away": "page fermée", "customer_away": "page de ce client est fermée",
           "say_off": "L’avatar est éteint", "say_overlay": "En surimpression"},
    "en": {"title": "Talk to us", "waiting": "Waiting", "connected": "Connected",
           "no_agents": "No advisor is online", "next": "You are next", "greeting": "Hello",
           "hang_up": "Hang up", "leave": "Leave the queue", "left": "You left the queue",
           "thanks": "Thank you for calling", "hung_up": "The customer hung up.",
           "console": "Waiting customers", "away": "page closed", "customer_away": "customer’s page is closed",
           "say_off": "The avatar is off", "say_overlay": "In overlay mode"},
}
LOCALES = {"fr": "fr-FR", "en": "en-US"}

# The one error a visit may log: the console asks who is signed in before anyone is (401).
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: whether an agent is online is part of what is tested."""
    srv = start_server(tmp_path_factory.mktemp("pages"))
    yield srv
    srv.stop()


async def fits(page: Page, *testids: str) -> None:
    """Nothing to scroll, and each control entirely on screen."""
    size = page.viewport_size
    assert size is not None
    scroll = await page.evaluate("[document.scrollingElement.scrollHeight, document.scrollingElement.scrollWidth]")
    assert scroll[0] <= size["height"] and scroll[1] <= size["width"], scroll
    for testid in testids:
        box = await by_testid(page, testid).bounding_box()
        assert box is not None, f"{testid} is not shown"
        assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (testid, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (testid, box)


@pytest.mark.parametrize(("screen", "lang"), [("phone", "fr"), ("desktop", "en"),
                                              ("phone", "en"), ("desktop", "fr")])
async def test_a_whole_call_on_each_screen_in_each_language(browser, site: Server, screen: str,
                                                            lang: str) -> None:
    words, locale = WORDS[lang], LOCALES[lang]
    viewport = PHONE if screen == "phone" else DESKTOP
    customer = await customer_starts_call(browser, site.url, locale, viewport=viewport)
    page = customer.page
    # Waiting: the assistant takes the stage, the state in the person's words, the queue honest.
    await expect(by_testid(page, "call-state")).to_have_text(words["waiting"])
    assert words["title"] in await page.title()
    await expect(by_testid(page, "queue-status")).to_contain_text(words["no_agents"])
    await expect(by_testid(page, "captions")).to_contain_text(words["greeting"])
    await expect(page.locator("#advisor-tile")).to_be_hidden()
    await expect(by_testid(page, "hang-up")).to_have_text(words["leave"])
    await customer.expect_state("avatar-state", "live")
    await fits(page, "hang-up", "mute", "camera", "avatar-video")

    agent = await agent_logs_in(browser, site.url, locale=locale)
    await expect(agent.page.get_by_text(words["console"])).to_be_visible()
    await expect(by_testid(page, "queue-status")).to_contain_text(words["next"])
    call_id = await call_id_of(customer)
    item = agent.page.locator(f'[data-testid="queue-item"][data-call-id="{call_id}"]')
    await expect(item).to_contain_text(f"· {lang.upper()}")
    await agent_accepts(agent, call_id)
    for person in (customer, agent):
        await person.expect_state("call-state", "connected")
    await expect(by_testid(page, "call-state")).to_have_text(words["connected"])
    await expect(by_testid(page, "queue-status")).to_be_hidden()
    await expect(by_testid(page, "remote-video")).to_be_visible()
    await expect(by_testid(page, "hang-up")).to_have_text(words["hang_up"])
    await fits(page, "hang-up", "mute", "camera", "remote-video", "local-video")
    await fits(agent.page, "end-call", "avatar-say", "avatar-mode")
    await expect(by_testid(agent.page, "call-timer")).to_be_visible()

    # Mute: the microphone's track is off, and the button says so.
    await by_testid(page, "mute").click()
    await expect(by_testid(page, "mute")).to_have_attribute("aria-pressed", "true")
    assert await page.evaluate(
        "document.querySelector('#local').srcObject.getAudioTracks().every(t => !t.enabled)")
    # What the agent makes the avatar say reaches the customer as captions.
    await customer.expect_state("avatar-state", "live")
    await by_testid(agent.page, "avatar-say").fill("Votre dossier est prêt." if lang == "fr" else "Your file is ready.")
    await by_testid(agent.page, "avatar-say-submit").click()
    await expect(by_testid(page, "captions")).to_contain_text("prêt" if lang == "fr" else "ready")

    # The end: thanks, a rating, a new call; the agent is told why it ended.
    await by_testid(page, "hang-up").click()
    await expect(by_testid(page, "end-screen")).to_be_visible()
    await expect(by_testid(page, "end-screen")).to_contain_text(words["thanks"])
    await fits(page, "rate-5", "new-call")
    await by_testid(page, "rate-4").click()
    await expect(page.locator("#rated")).to_be_visible()
    await expect(by_testid(agent.page, "end-reason")).to_have_text(words["hung_up"])
    await agent.expect_state("call-state", "ended")

    # The rating is on the dashboard, with the call's outcome and length.
    admin = await new_person(browser)
    await admin.context.add_cookies(await agent.context.cookies())
    await admin.page.goto(site.url + "/admin")
    row = admin.page.locator(f'[data-testid="call-row"][data-call-id="{call_id}"]')
    await expect(row).to_have_attribute("data-rating", "4", timeout=20_000)
    await expect(row).to_contain_text("customer hung up")
    await asyncio.sleep(1.0)  # whatever the pages still had to say
    for person in (customer, agent, admin):
        assert unexpected(person) == [], person.errors
        await person.close()


async def test_leaving_the_queue_is_not_called_the_end_of_a_call(browser, site: Server) -> None:
    for lang in ("fr", "en"):
        customer = await customer_starts_call(browser, site.url, LOCALES[lang], viewport=PHONE)
        await by_testid(customer.page, "hang-up").click()
        await expect(by_testid(customer.page, "end-screen")).to_contain_text(WORDS[lang]["left"])
        assert unexpected(customer) == [], customer.errors
        await customer.close()


# The page's notifications as the person's system would show them, its questions for the right
# to show them, and whether the console is out of sight (another tab or window), as the test says.
NOTIFICATIONS_SEEN = """
window.__notified = [];
window.__asked = 0;
window.__hidden = false;
for (const [name, value] of [['hidden', () => window.__hidden],
                             ['visibilityState', () => (window.__hidden ? 'hidden' : 'visible')]]) {
  Object.defineProperty(Document.prototype, name, { configurable: true, get: value });
}
Document.prototype.hasFocus = () => !window.__hidden;
const SystemNotification = window.Notification;
window.Notification = class extends SystemNotification {
  static requestPermission() {
    window.__asked += 1;
    return SystemNotification.requestPermission();
  }

  constructor(title, options) {
    super(title, options);
    window.__notified.push({ title, body: options.body, open: true });
    const seen = window.__notified.at(-1);
    this.addEventListener('close', () => { seen.open = false; });
  }
};
"""


async def test_an_agent_on_another_tab_is_notified_of_who_joins(browser, site: Server) -> None:
    agent = await agent_logs_in(browser, site.url, locale="fr-FR", init_script=NOTIFICATIONS_SEEN)
    assert await agent.page.evaluate("window.__asked") == 1  # when signing in
    await agent.context.grant_permissions(["notifications"], origin=site.url)  # the agent says yes
    await agent.page.evaluate("window.__hidden = true")  # the agent is on another tab
    first = await customer_starts_call(browser, site.url, "en-US", viewport=PHONE)
    await agent.page.wait_for_function("() => window.__notified.length === 1")
    seen = await agent.page.evaluate("window.__notified[0]")
    assert seen["title"] == "Un client attend" and "· EN" in seen["body"], seen
    # Back on the console: the notification goes; who joins now is seen in the queue itself.
    await agent.page.evaluate(
        "window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    await agent.page.wait_for_function("() => !window.__notified[0].open")
    chimes = int(await agent.page.evaluate("document.body.dataset.chimed"))
    second = await customer_starts_call(browser, site.url, "fr-FR", viewport=PHONE)
    await expect(agent.page.locator('[data-testid="queue-item"]')).to_have_count(2)
    await expect(agent.page.locator("body")).to_have_attribute("data-chimed", str(chimes + 1))
    assert await agent.page.evaluate("window.__notified.length") == 1
    # Turned off: neither sound nor notification.
    await by_testid(agent.page, "notify-toggle").uncheck()
    await agent.page.evaluate("window.__hidden = true")
    third = await customer_starts_call(browser, site.url, "en-US", viewport=PHONE)
    await expect(agent.page.locator('[data-testid="queue-item"]')).to_have_count(3)
    assert await agent.page.evaluate("[window.__notified.length, document.body.dataset.chimed]") \
        == [1, str(chimes + 1)]
    assert unexpected(agent) == [], agent.errors
    for customer in (first, second, third):  # they leave the queue: the next tests find it empty
        await by_testid(customer.page, "hang-up").click()
        await expect(by_testid(customer.page, "end-screen")).to_be_visible()
        await customer.close()
    await expect(agent.page.locator('[data-testid="queue-item"]')).to_have_count(0)
    await agent.close()


async def test_the_agent_sees_who_left_and_a_reopened_tab_keeps_its_place(browser, site: Server) -> None:
    agent = await agent_logs_in(browser, site.url, locale="fr-FR")
    customer = await customer_starts_call(browser, site.url, "en-US", viewport=PHONE)
    call_id = await call_id_of(customer)
    item = agent.page.locator(f'[data-testid="queue-item"][data-call-id="{call_id}"]')
    await expect(item).to_have_attribute("data-connected", "true")
    await expect(agent.page.locator("body[data-chimed]")).to_be_attached()  # someone joined

    await customer.page.close()  # the tab is closed; the browser keeps the ticket
    await expect(item).to_have_attribute("data-connected", "false")
    await expect(item).to_contain_text(WORDS["fr"]["away"])
    await item.get_by_test_id("accept-call").click()
    await expect(by_testid(agent.page, "queue-note")).to_contain_text(WORDS["fr"]["customer_away"])
    await agent.expect_state("call-state", "waiting")  # nothing started

    again = await customer.context.new_page()
    await again.goto(site.url + "/")
    await expect(by_testid(again, "call-state")).to_have_attribute("data-state", "waiting")
    assert await again.evaluate("document.body.dataset.callId") == call_id  # the same place
    await expect(item).to_have_attribute("data-connected", "true")
    await expect(agent.page.locator('[data-testid="queue-item"]')).to_have_count(1)
    await agent_accepts(agent, call_id)
    await agent.expect_state("call-state", "connected")
    assert unexpected(agent) == [] and unexpected(customer) == [], (agent.errors, customer.errors)
    await agent.close()
    await customer.close()


async def test_after_end_call_the_agents_preview_follows_the_goodbye_then_goes_off(
        browser, site: Server) -> None:
    customer = await customer_starts_call(browser, site.url, "fr-FR", viewport=PHONE)
    agent = await agent_logs_in(browser, site.url)
    await by_testid(agent.page, "avatar-mode").select_option("overlay")  # the goodbye is a stream
    await agent_accepts(agent, await call_id_of(customer))
    await customer.expect_state("call-state", "connected")
    await expect(by_testid(agent.page, "avatar-overlay")).to_be_visible()
    await record_states(agent)
    await by_testid(agent.page, "end-call").click()
    await agent.expect_state("call-state", "ended")
    # What the customer sees now: the character saying goodbye, on both screens.
    await expect(by_testid(customer.page, "captions")).to_contain_text("Au revoir", timeout=TIMEOUT)
    await agent.expect_state("avatar-state", "live")
    await expect(by_testid(agent.page, "avatar-video")).to_be_visible()
    assert await audio_level(customer) > 0.01  # the goodbye is heard
    await agent.expect_state("avatar-state", "off", timeout=20_000)  # then the preview goes
    await expect(by_testid(agent.page, "avatar-video")).to_be_hidden()
    seen = await state_history(agent, "avatar-state")
    assert "reconnecting" not in seen and "error" not in seen, seen
    await asyncio.sleep(1.0)  # whatever the pages still had to say
    assert unexpected(agent) == [] and unexpected(customer) == [], (agent.errors, customer.errors)
    await agent.close()
    await customer.close()


async def test_the_agent_sees_who_calls_and_what_about(browser, site: Server) -> None:
    agent = await agent_logs_in(browser, site.url)
    customer = await customer_starts_call(browser, site.url, "fr-FR", viewport=PHONE, name="Zoé",
                                          topic="Ma facture de novembre")
    call_id = await call_id_of(customer)
    item = agent.page.locator(f'[data-testid="queue-item"][data-call-id="{call_id}"]')
    await expect(item).to_contain_text("Zoé")
    await expect(item).to_contain_text("Ma facture de novembre")
    await agent_accepts(agent, call_id)
    await agent.expect_state("call-state", "connected")
    await expect(agent.page.locator("#customer-label")).to_have_text("Zoé · Ma facture de novembre")
    assert unexpected(agent) == [] and unexpected(customer) == [], (agent.errors, customer.errors)
    await agent.close()
    await customer.close()


async def test_say_tells_why_it_cannot_speak_and_counts_what_it_will_say(browser, site: Server) -> None:
    customer = await customer_starts_call(browser, site.url, "en-US")
    agent = await agent_logs_in(browser, site.url, locale="en-US")
    await agent_accepts(agent, await call_id_of(customer))
    await agent.expect_state("call-state", "connected")
    say, submit, note = (by_testid(agent.page, t) for t in ("avatar-say", "avatar-say-submit", "say-note"))
    await by_testid(agent.page, "avatar-mode").select_option("off")
    await expect(say).to_be_disabled()
    await expect(note).to_contain_text(WORDS["en"]["say_off"])
    await by_testid(agent.page, "avatar-mode").select_option("overlay")
    await expect(note).to_contain_text(WORDS["en"]["say_overlay"])
    await expect(by_testid(agent.page, "avatar-overlay")).to_be_visible()  # the preview shows it too
    await expect(by_testid(customer.page, "avatar-overlay")).to_be_visible()
    await by_testid(agent.page, "avatar-mode").select_option("beside")
    await expect(say).to_be_enabled()
    await expect(note).to_be_hidden()
    await say.fill("x" * 1001)  # over the limit: said, not cut silently
    await expect(by_testid(agent.page, "say-count")).to_have_text("1001 / 1000")
    await expect(submit).to_be_disabled()
    await say.fill("Bonjour, je suis là.")
    await by_testid(agent.page, "say-language").select_option("fr")
    await submit.click()
    await expect(by_testid(customer.page, "captions")).to_contain_text("je suis là")
    await customer.expect_state("call-state", "connected")  # none of it disturbed the call
    assert unexpected(agent) == [] and unexpected(customer) == [], (agent.errors, customer.errors)
    await agent.close()
    await customer.close()


async def test_before_sign_in_the_console_shows_no_call_and_speaks_french(browser, site: Server) -> None:
    visitor = await new_person(browser, "fr-FR")
    await visitor.page.goto(site.url + "/agent")
    await expect(by_testid(visitor.page, "login-submit")).to_have_text("Connexion")
    await expect(by_testid(visitor.page, "call-state")).to_be_hidden()
    await expect(by_testid(visitor.page, "avatar-state")).to_be_hidden()
    await by_testid(visitor.page, "login-user").fill("alice")
    await by_testid(visitor.page, "login-password").fill("wrong")
    await by_testid(visitor.page, "login-submit").click()
    await expect(visitor.page.locator("#login-error")).to_have_text("Nom ou mot de passe incorrect.")
    await visitor.close()


async def test_the_overlay_is_our_character_and_talks_while_the_agent_does(browser, site: Server) -> None:
    customer = await customer_starts_call(browser, site.url)
    agent = await agent_logs_in(browser, site.url)
    await agent_accepts(agent, await call_id_of(customer))
    await customer.expect_state("call-state", "connected")
    await by_testid(agent.page, "avatar-mode").select_option("overlay")
    for person in (customer, agent):  # the agent's preview shows what the customer sees
        overlay = by_testid(person.page, "avatar-overlay")
        await expect(overlay).to_be_visible()
        # (A machine's first server makes the loops at start: a few seconds, once.)
        await expect(overlay).to_have_attribute("data-source", re.compile("^(idle|talking)$"),
                                                timeout=TIMEOUT)
    # Chromium's fake microphone beeps: the agent's voice makes the character talk, on both.
    for person in (customer, agent):
        await expect(by_testid(person.page, "avatar-overlay")).to_have_attribute("data-source", "talking")
    await customer.expect_state("call-state", "connected")
    assert unexpected(agent) == [] and unexpected(customer) == [], (agent.errors, customer.errors)
    await agent.close()
    await customer.close()
