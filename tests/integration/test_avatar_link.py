"""A real aiortc peer receives the avatar: frames decode, speech arrives, two viewers share one encode."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from avatarcall.avatar import AvatarService, EspeakSynthesizer, SessionConfig
from avatarcall.avatar.service import AvatarFailure


async def _viewer(service: AvatarService, call_id: str, epoch: int, name: str) -> tuple[RTCPeerConnection, list]:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    tracks: list = []
    pc.on("track", tracks.append)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await service.connect(call_id, epoch, name, name == "customer", pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return pc, tracks


async def _frames(track, count: int) -> list:
    return [await asyncio.wait_for(track.recv(), 10) for _ in range(count)]


async def test_two_viewers_decode_the_avatar_and_hear_it_speak() -> None:
    events: list = []
    service = AvatarService(EspeakSynthesizer(), SessionConfig(size=256), list, events.append)
    try:
        session = await service.start("call1", "en")
        session.say("Hello and welcome", when_watched=True)
        pc1, tracks1 = await _viewer(service, "call1", session.epoch, "customer")
        pc2, tracks2 = await _viewer(service, "call1", session.epoch, "agent")
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
        await service.close()
    assert not [e for e in events if isinstance(e, AvatarFailure)]


async def test_a_crash_in_the_render_loop_is_reported_and_contained() -> None:
    events: list = []
    service = AvatarService(EspeakSynthesizer(), SessionConfig(size=128), list, events.append)
    try:
        session = await service.start("call2", "fr")
        pc, tracks = await _viewer(service, "call2", session.epoch, "customer")
        video = next(t for t in tracks if t.kind == "video")
        await _frames(video, 3)
        session.inject_fault("crash")
        for _ in range(100):
            if any(isinstance(e, AvatarFailure) for e in events):
                break
            await asyncio.sleep(0.05)
        failure = next(e for e in events if isinstance(e, AvatarFailure))
        assert failure.error.code == "avatar_crashed"
        assert service.get("call2") is None
        restarted = await service.start("call2", "fr")
        assert restarted.epoch == session.epoch + 1
        await pc.close()
    finally:
        await service.close()


async def test_garbage_sdp_is_refused_with_a_code() -> None:
    service = AvatarService(EspeakSynthesizer(), SessionConfig(size=128), list, lambda e: None)
    try:
        session = await service.start("call3", "en")
        with pytest.raises(Exception) as info:
            await service.connect("call3", session.epoch, "customer", True, "v=0 garbage")
        assert getattr(info.value, "code", None) == "bad_sdp"
    finally:
        await service.close()


async def test_a_new_utterance_cuts_the_current_one_at_once() -> None:
    """Interruption: after ``say`` replaces a long sentence, the old voice stops within 10 audio
    frames (200 ms of audio) at the viewer, every queue on the way flushed."""
    service = AvatarService(EspeakSynthesizer(), SessionConfig(size=128), list, lambda e: None)
    try:
        session = await service.start("call4", "en")
        pc, tracks = await _viewer(service, "call4", session.epoch, "customer")
        audio = next(t for t in tracks if t.kind == "audio")
        session.say("This is a long sentence that keeps going for several seconds, on and on, "
                    "so that there is plenty of speech left to interrupt when the agent types.")
        loud = 0
        while loud < 25:  # half a second of the long sentence has arrived
            frame = await asyncio.wait_for(audio.recv(), 10)
            loud += float(np.abs(frame.to_ndarray()).max()) > 1000
        session.interrupt()
        frames_until_silence = 0
        while True:
            frame = await asyncio.wait_for(audio.recv(), 10)
            if float(np.abs(frame.to_ndarray()).max()) < 300:
                break
            frames_until_silence += 1
        print(f"\ninterruption: silence after {frames_until_silence} frames "
              f"({frames_until_silence * 20} ms of audio)")
        assert frames_until_silence <= 10
        assert not session.speaking
        await pc.close()
    finally:
        await service.close()
