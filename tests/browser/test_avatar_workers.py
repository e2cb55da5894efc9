"""Every avatar worker process killed mid-call, as two people see it: the call stays connected
with its video decoding, and the avatar is live again with its frames advancing (the server's
supervisor starts new workers, which take the calls' avatars back)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest

from avatarcall.testing.browser import (
    Person,
    assert_video_flows,
    by_testid,
    connected_pair,
    state_history,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

AVATAR_FRAMES = """([ms]) => new Promise((resolve) => {
  const video = document.querySelector('[data-testid="avatar-video"]');
  let frames = 0;
  const count = () => { frames += 1; video.requestVideoFrameCallback(count); };
  video.requestVideoFrameCallback(count);
  setTimeout(() => resolve(frames), ms);
})"""


async def avatar_frames(person: Person, ms: int = 1500) -> int:
    """Avatar frames the page presents in ``ms`` (requestVideoFrameCallback)."""
    return int(await person.page.evaluate(AVATAR_FRAMES, [ms]))


async def test_killing_every_worker_leaves_the_call_and_brings_the_avatar_back(
        browser, server) -> None:
    customer, agent = await connected_pair(browser, server.url)
    assert await avatar_frames(customer) > 10
    async with httpx.AsyncClient() as http:
        workers = (await http.get(f"{server.url}/healthz")).json()["workers"]
    assert workers and all(w["pid"] for w in workers)
    killed = time.monotonic()
    for w in workers:
        os.kill(w["pid"], signal.SIGKILL)
    await asyncio.sleep(0.5)
    await assert_video_flows(customer, agent)  # the call never noticed
    await customer.expect_state("avatar-state", "live")
    await agent.expect_state("avatar-state", "live")
    print(f"\nevery worker killed: avatar live again on both pages "
          f"{time.monotonic() - killed:.1f} s later")
    assert await avatar_frames(customer) > 10
    assert await avatar_frames(agent) > 10
    assert set(await state_history(customer, "call-state")) == {"connected"}
    assert set(await state_history(agent, "call-state")) == {"connected"}
    async with httpx.AsyncClient() as http:
        now = (await http.get(f"{server.url}/healthz")).json()["workers"]
    assert {w["pid"] for w in now}.isdisjoint({w["pid"] for w in workers})  # new processes
    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    await customer.close()
    await agent.close()
