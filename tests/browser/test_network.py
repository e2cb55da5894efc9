"""The call and the avatar on real networks' terms, seen by a customer whose Chromium (or
Firefox) sits behind the network lab (a namespace and a shaping relay): a 4G link, a poor one, a
cut, a change of network. Each time: the states the customer sees, and video painted in both
elements."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from avatarcall.testing import browser as b
from avatarcall.testing.lab_call import LabCall, lab_call
from avatarcall.testing.media_probe import watch
from avatarcall.testing.netlab import unavailable
from avatarcall.testing.shaping import PROFILES

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session"),
              pytest.mark.skipif(unavailable() is not None, reason=str(unavailable())),
              pytest.mark.timeout(420)]


async def _both_videos_flow(call: LabCall, deadline: float = 60.0) -> None:
    """The customer sees the call connected and the avatar live, and both videos painting
    frames (within ``deadline`` seconds: a link that just got worse stalls a while, until the
    senders have adapted)."""
    for which, state in (("call-state", "connected"), ("avatar-state", "live")):
        await call.customer.expect_state(which, state, timeout=int(deadline * 1000))
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        seen = await watch(call.customer, 2.0)
        if seen["remote-video"].fps > 2 and seen["avatar-video"].fps > 2:
            return
        assert loop.time() < end, seen


# The call's voice senders' caps (the call's connection is the one that sends video).
VOICE_CAPS = """() => (window.__peerConnections ?? [])
  .filter(pc => pc.connectionState !== 'closed' && pc.getSenders().some(s => s.track?.kind === 'video'))
  .flatMap(pc => pc.getSenders().filter(s => s.track?.kind === 'audio'))
  .map(s => s.getParameters().encodings.map(e => e.maxBitrate))"""


async def _voice_capped(call: LabCall) -> None:
    """Both voices go at 32 kbps at most (Chromium would send a Firefox customer stereo at 64,
    kept out of what a poor link leaves the video)."""
    for person in (call.customer, call.agent):
        assert await person.page.evaluate(VOICE_CAPS) == [[32_000]]


async def _until_width(call: LabCall, width: int, video: str = "avatar-video",
                       at_least: bool = False, deadline: float = 90.0,
                       agent: bool = False) -> None:
    """The customer's (or the ``agent``'s) ``video`` shows ``width`` px frames (``at_least``:
    that wide or wider) before ``deadline`` seconds: the avatar's layer; the other side's video
    made small on a poor link, and its size again."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    person = call.agent if agent else call.customer
    while True:
        shown = (await watch(person, 1.0, (video,)))[video].width
        if shown == width or (at_least and shown > width):
            return
        assert loop.time() < end, f"{video} stayed at {shown} px"


async def test_on_4g_and_on_a_poor_link_the_call_and_the_avatar_flow_the_avatar_a_layer_lower(
        browser, tmp_path: Path) -> None:
    async with lab_call(tmp_path, browser.browser_type, beside=browser) as call:
        await _both_videos_flow(call)
        await _voice_capped(call)
        for name in ("4g", "poor"):
            call.lab.shape(PROFILES[name])
            await asyncio.sleep(5)
            await _both_videos_flow(call)
        await _until_width(call, 256)  # poor: the avatar's low layer
        await _until_width(call, 160, "remote-video")  # and the agent's video small (VideoFit)
        await _both_videos_flow(call)
        # Cut long enough for the page to replace its avatar link: the new one starts on the
        # low layer (the best one's first second would fill the poor link's queue again).
        call.lab.cut()
        await asyncio.sleep(3)
        call.lab.restore()
        await _both_videos_flow(call)
        assert "reconnecting" in await b.state_history(call.customer, "avatar-state")
        assert call.server.log.read_text().count("viewer=customer high -> low") == 1
        call.lab.shape(PROFILES["good"])
        await _until_width(call, 512)  # probed up again
        await _until_width(call, 320, "remote-video", at_least=True)  # its size again
        assert "failed" not in await b.state_history(call.customer, "call-state")
        assert b.unexpected(call.customer) == []


async def _cut_then_change_of_network(call: LabCall, screenshot: Path) -> None:
    """A 5 s cut, then a change of network: both videos flow again after each."""
    call.lab.cut()
    await asyncio.sleep(5)
    call.lab.restore()
    await _both_videos_flow(call)
    call.lab.change_network()
    await asyncio.sleep(1)
    await _both_videos_flow(call)
    await call.customer.page.screenshot(path=str(screenshot))


async def test_after_a_cut_and_a_change_of_network_the_call_and_the_avatar_come_back(
        browser, tmp_path: Path) -> None:
    async with lab_call(tmp_path, browser.browser_type, beside=browser) as call:
        await _cut_then_change_of_network(call, tmp_path / "after-change.png")


# The connection states of the customer's links, as their page's peer connections say.
LINK_STATES = "() => (window.__peerConnections ?? []).map(pc => pc.connectionState)"


async def _checks_lost(call: LabCall, seconds: float) -> None:
    """The customer's ICE checks get no answer for ``seconds`` while the media flows on: Firefox
    then says "disconnected" (a lossy link does it to one check now and then: every ~15 s on the
    poor link), and that is no cut. The customer sees the call connected and the avatar live
    throughout, both videos flowing (before: the call restarted ICE, the avatar link was
    replaced, each video froze 1-3 s)."""
    shown = {which: len(await b.state_history(call.customer, which))
             for which in ("call-state", "avatar-state")}
    said: set[str] = set()
    call.lab.lose_checks()
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        said.update(await call.customer.page.evaluate(LINK_STATES))
        await asyncio.sleep(0.5)
    call.lab.lose_checks(False)
    assert "disconnected" in said, said
    for which, before in shown.items():
        assert (await b.state_history(call.customer, which))[before:] == [], which
    await _both_videos_flow(call, deadline=5.0)


async def test_in_firefox_on_each_profile_after_a_cut_and_a_change_of_network_both_videos_flow(
        browser, tmp_path: Path) -> None:
    """The customer in Debian's Firefox ESR behind the lab (its driver in the namespace too),
    the agent in Chromium: 4G, poor (the avatar's low layer), a cut, a change of network.
    Falling from 4G to poor, the customer's camera (Firefox: no target bit rate, the round trip
    decides) gets small for the agent, and its size again on a good link; Firefox's checks
    unanswered on the poor link while the media flows are no cut."""
    async with lab_call(tmp_path, browser.browser_type, beside=browser,
                        customer_in="firefox") as call:
        await _both_videos_flow(call)
        await _voice_capped(call)
        for name in ("4g", "poor"):
            call.lab.shape(PROFILES[name])
            if name == "poor":
                await _until_width(call, 160, "remote-video", deadline=30, agent=True)
            await asyncio.sleep(5)
            await _both_videos_flow(call)
        await _until_width(call, 256)
        await _until_width(call, 160, "remote-video")
        await _checks_lost(call, 12.0)
        call.lab.shape(PROFILES["good"])
        await _cut_then_change_of_network(call, tmp_path / "firefox-after-change.png")
        await _until_width(call, 320, "remote-video", at_least=True, agent=True)
        assert "failed" not in await b.state_history(call.customer, "call-state")
        assert call.customer.errors == []


async def test_in_firefox_a_relayed_call_outlives_its_turn_allocations(
        browser, tmp_path: Path) -> None:
    """coturn grants allocations a short lifetime (production: 2 min, so that one whose release
    was lost in a cut stops counting against the quota soon); here 30 s. Both browsers refresh
    theirs before it ends (Firefox 10 s before, Chromium at half of it): over 75 s, nobody sees
    the call or the avatar waver, and both videos flow at the end."""
    async with lab_call(tmp_path, browser.browser_type, beside=browser,
                        customer_in="firefox", turn_lifetime=30) as call:
        await asyncio.sleep(75)
        for person in (call.customer, call.agent):
            for which, state in (("call-state", "connected"), ("avatar-state", "live")):
                assert await b.state_history(person, which) == [state], which
        await _both_videos_flow(call, deadline=5.0)
        assert call.customer.errors == []
