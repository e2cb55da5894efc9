"""Real aiortc peers receive the avatar through ``LocalAvatarControl``: frames decode, speech
arrives, two viewers share one encode, and no offer or close leaves a socket behind."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from avatarcall.avatar import AvatarFailed, EspeakSynthesizer, SessionConfig, SlotFreed
from avatarcall.avatar.links import AvatarLink
from avatarcall.avatar.local import LocalAvatarControl
from avatarcall.errors import AvatarUnavailable


def _control(size: int = 128) -> LocalAvatarControl:
    return LocalAvatarControl(EspeakSynthesizer(), SessionConfig(size=size), list)


async def _offer() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def _viewer(control: LocalAvatarControl, key: str, epoch: int,
                  name: str) -> tuple[RTCPeerConnection, list]:
    pc = await _offer()
    tracks: list = []
    pc.on("track", tracks.append)
    answer = await control.answer(key, epoch, name, pc.localDescription.sdp,
                                  audience=name == "customer")
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return pc, tracks


async def _frames(track, count: int) -> list:
    return [await asyncio.wait_for(track.recv(), 10) for _ in range(count)]


def _pending(control: LocalAvatarControl) -> list:
    events = []
    queue = control._events  # the test reads what a consumer of events() would get
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_two_viewers_decode_the_avatar_and_hear_it_speak() -> None:
    control = _control(256)
    try:
        epoch = await control.start("call1", "en")
        await control.say("call1", "Hello and welcome", when_watched=True)
        pc1, tracks1 = await _viewer(control, "call1", epoch, "customer")
        pc2, tracks2 = await _viewer(control, "call1", epoch, "agent")
        assert control.load().viewers == 2 and control.load().sessions == 1
        video1 = next(t for t in tracks1 if t.kind == "video")
        video2 = next(t for t in tracks2 if t.kind == "video")
        audio1 = next(t for t in tracks1 if t.kind == "audio")
        frames1 = await _frames(video1, 10)
        frames2 = await _frames(video2, 10)
        assert frames1[-1].width == 256 and frames2[-1].height == 256
        # The greeting waited for the customer, then plays: some audio frame is not silent.
        loud = 0.0
        for _ in range(150):
            frame = await asyncio.wait_for(audio1.recv(), 10)
            loud = max(loud, float(np.abs(frame.to_ndarray()).max()))
            if loud > 1000:
                break
        assert loud > 1000
        await pc1.close()
        await pc2.close()
    finally:
        await control.close()
    assert not [e for e in _pending(control) if isinstance(e, AvatarFailed)]


async def test_a_crash_in_the_render_loop_is_reported_and_contained() -> None:
    control = _control()
    try:
        epoch = await control.start("call2", "fr")
        pc, tracks = await _viewer(control, "call2", epoch, "customer")
        video = next(t for t in tracks if t.kind == "video")
        await _frames(video, 3)
        assert await control.fault("call2", "crash") == epoch
        events: list = []
        for _ in range(100):
            events += _pending(control)
            if any(isinstance(e, SlotFreed) for e in events):
                break
            await asyncio.sleep(0.05)
        failure = next(e for e in events if isinstance(e, AvatarFailed))
        assert (failure.key, failure.epoch, failure.code) == ("call2", epoch, "avatar_crashed")
        assert SlotFreed("call2", epoch) in events  # the failed session's place is free
        assert control.load().sessions == 0 and control.load().viewers == 0
        with pytest.raises(AvatarUnavailable):
            await control.say("call2", "still there?")
        assert await control.start("call2", "fr") == epoch + 1
        await pc.close()
    finally:
        await control.close()


async def test_garbage_sdp_is_refused_with_a_code() -> None:
    control = _control()
    try:
        epoch = await control.start("call3", "en")
        with pytest.raises(Exception) as info:
            await control.answer("call3", epoch, "customer", "v=0 garbage", audience=True)
        assert getattr(info.value, "code", None) == "bad_sdp"
        with pytest.raises(AvatarUnavailable):  # an epoch that is not the session's
            await control.answer("call3", epoch + 7, "customer", "v=0", audience=True)
    finally:
        await control.close()


async def test_a_new_utterance_cuts_the_current_one_at_once() -> None:
    """Interruption: the old voice stops within 10 audio frames (200 ms of audio) at the viewer,
    every queue on the way flushed."""
    control = _control()
    try:
        epoch = await control.start("call4", "en")
        pc, tracks = await _viewer(control, "call4", epoch, "customer")
        audio = next(t for t in tracks if t.kind == "audio")
        await control.say("call4", "This is a long sentence that keeps going for several "
                          "seconds, on and on, so that there is plenty of speech left to "
                          "interrupt when the agent types.")
        loud = 0
        while loud < 25:  # half a second of the long sentence has arrived
            frame = await asyncio.wait_for(audio.recv(), 10)
            loud += float(np.abs(frame.to_ndarray()).max()) > 1000
        await control.interrupt("call4")
        frames_until_silence = 0
        while True:
            frame = await asyncio.wait_for(audio.recv(), 10)
            if float(np.abs(frame.to_ndarray()).max()) < 300:
                break
            frames_until_silence += 1
        print(f"\ninterruption: silence after {frames_until_silence} frames "
              f"({frames_until_silence * 20} ms of audio)")
        assert frames_until_silence <= 10
        await pc.close()
    finally:
        await control.close()


async def test_concurrent_offers_of_one_viewer_leave_one_link_and_no_socket_behind() -> None:
    """The attack of the hardening audit: 30 offers of one viewer at once, no waiting for the
    answers. Only the newest gets a link; the others are refused (superseded) or replaced; once
    the session stops, the process has the file descriptors it had before."""
    control = _control()
    offers = [await _offer() for _ in range(30)]
    try:
        before = _open_files()
        epoch = await control.start("call5", "en")
        results = await asyncio.gather(
            *(control.answer("call5", epoch, "customer", pc.localDescription.sdp, audience=True)
              for pc in offers), return_exceptions=True)
        answered = [r for r in results if isinstance(r, str)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert answered and all(getattr(r, "code", "") == "superseded" for r in refused)
        assert control.load().viewers == 1  # one link for the viewer, whatever it sent
        await control.stop("call5")
        assert control.load().viewers == 0
        for _ in range(50):  # aiortc's sockets close as its transports finish
            if _open_files() <= before:
                break
            await asyncio.sleep(0.1)
        assert _open_files() <= before
    finally:
        for pc in offers:
            await pc.close()
        await control.close()


async def test_a_second_close_of_a_link_waits_until_it_is_closed() -> None:
    control = _control()
    try:
        epoch = await control.start("call6", "en")
        pc = await _offer()
        await control.answer("call6", epoch, "customer", pc.localDescription.sdp, audience=True)
        link: AvatarLink = control._links[("call6", "customer")]  # the link itself, to close twice
        first = asyncio.ensure_future(link.close())
        await asyncio.sleep(0)  # the first close is under way
        await link.close()
        assert link.pc.connectionState == "closed"
        await first
        await pc.close()
    finally:
        await control.close()
