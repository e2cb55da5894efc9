"""The agent's live voice through the avatar: the lips of what is played reach the frames
drawn at the same instant, even when a frame is due before its audio chunk is played."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from avatarcall.avatar.motion import FacePose
from avatarcall.avatar.session import AUDIO_CHUNK, AvatarSession, SessionConfig
from avatarcall.avatar.speech import SAMPLE_RATE, EspeakSynthesizer
from avatarcall.avatar.visemes import Viseme
from avatarcall.avatar.voice import LIPS_BEHIND, LiveVoice
from avatarcall.testing.voice import AGENT_LINES


def _speech() -> np.ndarray:
    return EspeakSynthesizer().synthesize(AGENT_LINES, "en").samples.astype(np.float32)


def test_a_frame_due_before_its_chunk_is_played_takes_the_latest_lips() -> None:
    voice, speech = LiveVoice(), _speech()
    for k in range(40):  # as the agent's microphone brings it: 20 ms at a time
        voice.feed(speech[k * AUDIO_CHUNK:(k + 1) * AUDIO_CHUNK])
    for chunk in range(30):
        voice.play(chunk, AUDIO_CHUNK)
    assert voice.lips_at(28) != voice.lips_at(29)  # speech: each chunk its own lips
    assert voice.lips_at(30) is voice.lips_at(29)  # chunk 30 not played yet: 20 ms older lips
    assert voice.lips_at(29 + LIPS_BEHIND + 1) is None  # too old: the avatar's own timeline


def test_nothing_played_has_no_lips() -> None:
    assert LiveVoice().lips_at(0) is None


class _Microphone(MediaStreamTrack):
    """The agent's microphone: ``samples`` in 20 ms frames at the pace they are spoken."""

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        self._pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        self._n = 0
        self._start = time.monotonic()

    async def recv(self) -> av.AudioFrame:
        await asyncio.sleep(max(0.0, self._start + self._n * 0.02 - time.monotonic()))
        piece = self._pcm[self._n * AUDIO_CHUNK:(self._n + 1) * AUDIO_CHUNK]
        if len(piece) < AUDIO_CHUNK:
            piece = np.zeros(AUDIO_CHUNK, np.int16)
        frame = av.AudioFrame.from_ndarray(piece.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = SAMPLE_RATE, self._n * AUDIO_CHUNK
        self._n += 1
        return frame


async def test_the_lips_drawn_follow_the_agents_voice_in_most_frames() -> None:
    poses: list[FacePose] = []
    with ThreadPoolExecutor(2) as executor:
        session = AvatarSession("c1", 1, "en", EspeakSynthesizer(), executor,
                                SessionConfig(size=128), on_failure=lambda *_: None)
        session.start()
        draw = session._renderer.draw

        def drawn(pose: FacePose) -> np.ndarray:
            poses.append(pose)
            return draw(pose)

        session._renderer.draw = drawn  # type: ignore[method-assign]
        try:
            session.add_viewer("customer", True)
            session.attach_voice(_Microphone(_speech()[:4 * SAMPLE_RATE]))
            await asyncio.sleep(4.0)
        finally:
            await session.close()
    speaking = poses[15:]  # from 0.6 s on (the jitter buffer holds the first 60 ms)
    moving = [p for p in speaking if p.visemes.get(Viseme.REST, 0.0) < 0.5]
    # The voice speaks throughout but for short pauses between words: the frames that show
    # it are most of them (one in ten when frames looked up only their own, unplayed chunk).
    assert len(moving) > 0.6 * len(speaking), (len(moving), len(speaking))
    assert max(p.mouth for p in moving) > 0.5
