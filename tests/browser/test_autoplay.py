"""A browser that will not play sound before the person has clicked in the page (autoplay
policy): the customer sees the assistant's lips move, is told its voice is off and turns it on
with one click — the slot never claims "live" while the voice is muted.

Headless Chromium does not enforce its autoplay policy (checked here: with
``--autoplay-policy=document-user-activation-required``, ``play()`` with sound succeeds in a tab
nobody clicked in), so the page's media elements refuse as the policy does: an unmuted
``play()`` before any click rejects with ``NotAllowedError``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from avatarcall.testing.browser import (
    by_testid,
    customer_starts_call,
    record_states,
    state_history,
    unexpected,
)
from avatarcall.testing.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

AUTOPLAY_POLICY = """(() => {
  let activated = false;
  for (const type of ['pointerdown', 'keydown', 'click']) {
    addEventListener(type, (ev) => { if (ev.isTrusted) activated = true; }, true);
  }
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (!activated && !this.muted) {
      return Promise.reject(new DOMException(
        "play() failed because the user didn't interact with the document first.", 'NotAllowedError'));
    }
    return play.call(this);
  };
})();"""
MUTED = "document.querySelector('[data-testid=avatar-video]').muted"
PLAYING = """() => { const v = document.querySelector('[data-testid=avatar-video]');
  return !v.paused && v.currentTime > 0; }"""


async def test_a_refused_autoplay_shows_the_avatar_muted_until_the_customer_turns_it_on(
        browser, server: Server, tmp_path: Path) -> None:
    customer = await customer_starts_call(browser, server.url, init_script=AUTOPLAY_POLICY)
    # The customer closes the tab and opens the page again: this browser takes its place in line
    # back by itself, in a tab nobody has clicked in yet (the voice may not start).
    await customer.page.close()
    customer.page = await customer.context.new_page()
    await customer.page.goto(server.url + "/")
    await record_states(customer)
    await customer.expect_state("avatar-state", "needs-interaction")
    sound_on = by_testid(customer.page, "avatar-sound-on")
    await expect(sound_on).to_be_visible()
    await customer.page.wait_for_function(PLAYING)  # the lips move, without sound
    assert await customer.page.evaluate(MUTED)
    await customer.page.screenshot(path=tmp_path / "needs-interaction.png")

    await sound_on.click()
    await customer.expect_state("avatar-state", "live")
    await expect(sound_on).to_be_hidden()
    assert not await customer.page.evaluate(MUTED)
    await customer.page.wait_for_function(PLAYING)
    assert await customer.state("call-state") == "waiting"  # the call never noticed
    assert "live" not in (await state_history(customer, "avatar-state"))[:-1]
    assert not unexpected(customer)
    await customer.close()
