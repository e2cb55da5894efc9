"""The report's CallView.vue rebuilt on the SDK (``examples/vue``), built with Vite and served
by ``vite preview`` in front of a real server, in Chromium: a customer of the Vue app waits with
the avatar, an agent of the shipped console takes the call, call and avatar run together, the
agent ends it and the avatar says its conclusion. Once with the SDK's objects in ``data()``
(Options API), once in ``ref()`` (Composition API, where the avatar's element is also re-rendered
mid-call and the avatar follows it); and the Options API one in Firefox
(``tests/js/firefox.mjs``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from avatarcall.testing.browser import (
    agent_accepts,
    agent_logs_in,
    audio_level,
    by_testid,
    new_person,
    unexpected,
)
from avatarcall.testing.firefox import assert_whole_flow, firefox
from avatarcall.testing.node import installed, npm
from avatarcall.testing.server import Server, free_port, start_server

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vue"

# Frames the element really shows for a second (requestVideoFrameCallback), and its size.
SHOWN = """async (testid) => {
  const video = document.querySelector(`[data-testid="${testid}"]`);
  let frames = 0;
  const count = () => { frames += 1; video.requestVideoFrameCallback(count); };
  video.requestVideoFrameCallback(count);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return { frames, width: video.videoWidth, muted: video.muted, paused: video.paused };
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("vue"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def app(server: Server) -> Iterator[str]:
    """The example, installed from its lock file, built, and served by ``vite preview``."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (scripts/setup.sh --test installs it)")
    installed(EXAMPLE)
    npm(EXAMPLE, "run", "build")
    port = free_port()
    process = subprocess.Popen(
        ["npx", "vite", "preview", "--host", "127.0.0.1", "--port", str(port), "--strictPort"],
        cwd=EXAMPLE, env={**os.environ, "AVATARCALL_URL": server.url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "vite preview did not start"
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    os.killpg(process.pid, signal.SIGTERM)  # npx and the vite it started
    process.wait(10)


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("api", ["options", "composition"])
async def test_the_vue_example_runs_the_call_and_the_avatar_together(
        browser, server: Server, app: str, api: str, tmp_path: Path) -> None:
    customer = await new_person(browser)
    await customer.page.goto(f"{app}/?api={api}")
    await by_testid(customer.page, "start-call").click()
    await customer.expect_state("call-state", "waiting")
    await customer.expect_state("avatar-state", "live")  # the assistant greets the waiting customer
    assert (await customer.page.evaluate(SHOWN, "avatar-video"))["frames"] > 5

    agent = await agent_logs_in(browser, server.url)
    await agent_accepts(agent)
    await customer.expect_state("call-state", "connected")
    await agent.expect_state("call-state", "connected")
    remote = await customer.page.evaluate(SHOWN, "remote-video")
    assert remote["frames"] > 5 and remote["width"] > 0  # the agent's camera, decoded
    avatar = await customer.page.evaluate(SHOWN, "avatar-video")
    assert avatar["frames"] > 5 and not avatar["paused"]  # the avatar beside the agent
    if api == "composition":  # a re-render gives the avatar a new element: it follows
        await by_testid(customer.page, "large-avatar").uncheck()
        await customer.expect_state("avatar-state", "live")
        assert (await customer.page.evaluate(SHOWN, "avatar-video"))["frames"] > 5
    await customer.page.screenshot(path=tmp_path / f"vue-{api}-call.png")
    assert await customer.state("call-state") == "connected"

    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    await customer.expect_state("avatar-state", "live")  # the conclusion
    assert (await customer.page.evaluate(SHOWN, "avatar-video"))["frames"] > 5
    assert await audio_level(customer, "avatar-video", 3000) > 0.005  # its goodbye, aloud
    await expect(by_testid(customer.page, "hang-up")).to_be_hidden()
    assert not unexpected(customer) and not unexpected(agent)
    await customer.close()
    await agent.close()


def test_the_vue_example_in_firefox(server: Server, app: str) -> None:
    assert_whole_flow(firefox("vue", server.url, app))
