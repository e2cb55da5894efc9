"""Lips that follow the voice, seen and heard in the customer's page: the avatar's own speech,
and the agent's live voice in the "as-agent" mode."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect

from avatarcall.testing.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    agent_accepts,
    agent_logs_in,
    audio_level,
    best_lag,
    by_testid,
    call_id_of,
    customer_starts_call,
    lipsync_series,
)
from avatarcall.testing.metrics import metrics_text, sample
from avatarcall.testing.voice import write_voice_wav

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SENTENCE = ("Bonjour madame, je vous remercie pour votre patience. Nous allons regarder ensemble "
            "votre dossier, puis je vous propose une solution simple et rapide.")


async def test_the_mouth_moves_with_the_avatars_voice(browser, server) -> None:
    customer = await customer_starts_call(browser, server.url, "fr-FR")
    await customer.expect_state("avatar-state", "live")
    agent = await agent_logs_in(browser, server.url)
    await agent_accepts(agent, await call_id_of(customer))
    await customer.expect_state("call-state", "connected")
    await by_testid(agent.page, "avatar-say").fill(SENTENCE)  # cuts the greeting short
    await by_testid(agent.page, "avatar-say-submit").click()
    series = await lipsync_series(customer, 8000)
    lag_ms, corr = best_lag(series)
    print(f"\nlip sync, avatar speech: lag {lag_ms:+.0f} ms, correlation {corr:.2f} "
          f"({len(series['mouth'])} frames)")
    opening = [v for _, v in series["mouth"]]
    assert max(opening) - min(opening) > 0.01  # the mouth moves
    assert corr > 0.15  # and with the sound (0.2-0.6 measured here; lower on a busy machine)
    # The lag is printed, not asserted (timing belongs to measurements; see bench avatar).
    # How long the page buffers the avatar (the video hold) reaches the operators' metrics.
    text = await metrics_text(server.url)
    assert sample(text, "avatarcall_avatar_playout_delay_seconds_count", role="customer") > 0
    await hang_up(customer, agent)


async def hang_up(customer, agent) -> None:
    """End the call, so its avatar stops rendering before the next measurement starts."""
    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    await customer.close()
    await agent.close()


@pytest.fixture(scope="module")
def agent_voice_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spoken WAV (48 kHz mono), the fake microphone of every page of the browser below."""
    return write_voice_wav(tmp_path_factory.mktemp("voice") / "agent.wav")


@pytest_asyncio.fixture(loop_scope="session")
async def voiced_browser(agent_voice_wav: Path):
    async with async_playwright() as p:
        args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={agent_voice_wav}"]
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        yield browser
        await browser.close()


CALL_SOUND = """() => {
  const tracks = document.querySelector('[data-testid=remote-video]').srcObject.getAudioTracks();
  return tracks.length > 0 && tracks.every((track) => track.enabled === %s);
}"""


async def test_as_agent_the_customer_hears_the_agent_through_the_avatar(voiced_browser, server) -> None:
    customer = await customer_starts_call(voiced_browser, server.url)
    agent = await agent_logs_in(voiced_browser, server.url)
    await agent_accepts(agent, await call_id_of(customer))
    await customer.expect_state("call-state", "connected")
    await by_testid(agent.page, "avatar-mode").select_option("as-agent")
    # The agent's own sound is muted on the customer's side: no double voice (the SDK's call
    # link turns the call's sound off, whatever the page does with its element).
    await expect(by_testid(customer.page, "remote-video")).to_have_js_property("muted", True)
    await customer.page.wait_for_function(CALL_SOUND % "false")
    # The customer is told whose voice it is: the advisor's, not the assistant's.
    await expect(by_testid(customer.page, "avatar-label")).to_have_text(
        re.compile(r"^alice\W*your advisor, through the avatar$"))  # " · " drawn by the CSS
    await customer.expect_state("avatar-state", "live")
    await agent.expect_state("avatar-state", "live")
    await asyncio.sleep(1.5)
    assert await audio_level(customer, ms=2000) > 0.01  # the agent's voice, through the avatar
    # The lips follow the voice in at least one of three 8 s windows: a window in which this
    # shared, saturated machine starved the page is not what a person on a real one sees
    # (measured 0.7-0.8 when the machine breathes; the bench reports the figures). Before
    # frames took the latest lips played, nine in ten showed the avatar's resting mouth, and
    # windows of 0.0-0.3 alternated as the audio and video loops drifted in and out of step.
    for window in range(3):
        series = await lipsync_series(customer, 8000)
        opening = np.array([v for _, v in series["mouth"]])
        lag_ms, corr = best_lag(series)
        print(f"\nlip sync, agent's live voice (window {window + 1}): lag {lag_ms:+.0f} ms, "
              f"correlation {corr:.2f}, mouth opening {opening.min():.3f}-{opening.max():.3f}")
        if corr > 0.2:
            break
    assert opening.max() - opening.min() > 0.01  # the mouth moves
    assert corr > 0.2
    # Back to "beside": the agent's own voice is heard again, the avatar speaks for itself.
    await by_testid(agent.page, "avatar-mode").select_option("beside")
    await expect(by_testid(customer.page, "remote-video")).to_have_js_property("muted", False)
    await customer.page.wait_for_function(CALL_SOUND % "true")
    await expect(by_testid(customer.page, "avatar-label")).to_contain_text("Virtual assistant")
    await customer.expect_state("call-state", "connected")
    await hang_up(customer, agent)
