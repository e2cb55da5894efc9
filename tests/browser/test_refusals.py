"""A server that cannot take one more customer says so on the customer's page, and loses no one
already waiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from avatarcall.testing.browser import by_testid, customer_starts_call, new_person
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
    # The customer already waiting keeps their place, avatar included.
    await first.expect_state("call-state", "waiting")
    await first.expect_state("avatar-state", "live")
    await second.close()
    await first.close()
