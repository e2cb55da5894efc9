"""A server that says no says why, on the page: a customer when the queue is full (no one already
waiting is lost), an agent whose session was ended from the command line, a call past the last
free avatar (it goes on with the local animation, and gets the avatar when one is free)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from avatarcall.testing.browser import (
    agent_accepts,
    agent_logs_in,
    by_testid,
    call_id_of,
    customer_starts_call,
    new_person,
)
from avatarcall.testing.server import Server, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SHOTS = Path(__file__).resolve().parents[2] / "docs"

# Instrumentation: the page's camera streams, to see that none is left running.
KEEP_STREAMS = """
window.__streams = [];
const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (c) => {
  const s = await getUserMedia(c); window.__streams.push(s); return s;
};
"""


@pytest.fixture(scope="module")
def one_place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("one-place"), AVATARCALL_MAX_WAITING_CALLS="1")
    yield srv
    srv.stop()


async def test_a_full_queue_is_explained_and_the_camera_released(browser, one_place: Server) -> None:
    first = await customer_starts_call(browser, one_place.url)
    second = await new_person(browser, init_script=KEEP_STREAMS)
    await second.page.goto(one_place.url + "/")
    await by_testid(second.page, "start-call").click()
    error = second.page.locator("#start-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("Every place in the queue is taken")
    await expect(by_testid(second.page, "start-call")).to_be_enabled()  # they may try again
    await second.page.screenshot(path=str(SHOTS / "customer-queue-full.png"))
    states = await second.page.evaluate(
        "() => window.__streams.flatMap(s => s.getTracks().map(t => t.readyState))")
    assert states and set(states) == {"ended"}  # the camera was opened, and is closed again
    # A French-speaking customer reads it in French.
    french = await new_person(browser, locale="fr-FR")
    await french.page.goto(one_place.url + "/")
    await by_testid(french.page, "start-call").click()
    await expect(french.page.locator("#start-error")).to_contain_text(
        "Toutes les places de la file d’attente sont prises")
    await french.close()
    # The customer already waiting keeps their place, avatar included.
    await first.expect_state("call-state", "waiting")
    await first.expect_state("avatar-state", "live")
    await second.close()
    await first.close()


def avatarcall(server: Server, *args: str, stdin: str = "") -> None:
    env = {**os.environ, "AVATARCALL_DATA_DIR": str(server.data_dir)}
    subprocess.run([sys.executable, "-m", "avatarcall", *args], input=stdin, env=env, text=True,
                   capture_output=True, timeout=60, check=True)


async def test_an_agent_signed_out_everywhere_is_back_at_sign_in_and_told_why(
        browser, one_place: Server) -> None:
    avatarcall(one_place, "agent", "add", "hana", stdin="hana-password-1\n")
    agent = await agent_logs_in(browser, one_place.url, "hana", "hana-password-1")
    avatarcall(one_place, "agent", "signout", "hana")
    error = agent.page.locator("#login-error")
    await expect(error).to_be_visible(timeout=15_000)
    await expect(error).to_contain_text("Your session has ended")
    await expect(by_testid(agent.page, "end-call")).to_be_hidden()
    await agent.page.screenshot(path=str(SHOTS / "agent-session-ended.png"))
    # They sign in again, and are back at work.
    await by_testid(agent.page, "login-user").fill("hana")
    await by_testid(agent.page, "login-password").fill("hana-password-1")
    await by_testid(agent.page, "login-submit").click()
    await expect(by_testid(agent.page, "end-call")).to_be_visible()
    await agent.close()


@pytest.fixture(scope="module")
def one_avatar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("one-avatar"), AVATARCALL_MAX_AVATAR_SESSIONS="1")
    yield srv
    srv.stop()


async def test_past_the_last_free_avatar_the_call_goes_on_and_the_avatar_follows(
        browser, one_avatar: Server) -> None:
    first = await customer_starts_call(browser, one_avatar.url)
    await first.expect_state("avatar-state", "live")
    second = await customer_starts_call(browser, one_avatar.url)
    # No avatar free: the second customer sees the local animation, and nothing is wrong.
    await second.expect_state("avatar-state", "live")
    await expect(by_testid(second.page, "avatar-overlay")).to_be_visible()
    await expect(by_testid(second.page, "avatar-error")).to_be_hidden()
    agent = await agent_logs_in(browser, one_avatar.url)
    await agent_accepts(agent, await call_id_of(second))
    for person in (second, agent):
        await person.expect_state("call-state", "connected")
    # The agent is told why their avatar preview is empty.
    await agent.expect_state("avatar-state", "error")
    await expect(by_testid(agent.page, "avatar-error")).to_contain_text("Every avatar is in use")
    await expect(by_testid(agent.page, "avatar-retry")).to_be_hidden()  # nothing to retry
    await second.page.screenshot(path=str(SHOTS / "customer-avatar-busy.png"))
    await agent.page.screenshot(path=str(SHOTS / "agent-avatar-busy.png"))
    # The first customer hangs up and leaves: their avatar goes to the call in progress.
    await by_testid(first.page, "hang-up").click()
    await first.expect_state("call-state", "ended")
    await first.close()
    await expect(by_testid(second.page, "avatar-video")).to_be_visible(timeout=30_000)
    await second.expect_state("avatar-state", "live")
    await agent.expect_state("avatar-state", "live")
    await second.expect_state("call-state", "connected")  # the call never noticed
    await second.close()
    await agent.close()
