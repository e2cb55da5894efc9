"""The agent's live voice, as the avatar speaks it: a small jitter buffer on the session clock,
and lip sync estimated from the very samples that are played out."""

from __future__ import annotations

from collections import deque

import av
import numpy as np

from avatarcall.avatar.lipsync import LiveLipSync
from avatarcall.avatar.speech import SAMPLE_RATE
from avatarcall.avatar.visemes import Viseme

JITTER_SAMPLES = SAMPLE_RATE * 60 // 1000  # start playing once 60 ms are buffered
MAX_SAMPLES = SAMPLE_RATE // 2  # more than 500 ms behind: drop the oldest (never drift)
SPEECH_RMS = 0.02  # louder than this in two chunks running: the agent is talking
KEPT_CHUNKS = 50  # lips of the chunks played in the last second (20 ms chunks)
# A video frame falls on the start of an audio chunk, which the audio loop may not have played
# yet when the video loop wakes at the same instant (it did not, for nine frames in ten): the
# frame shows the latest lips at most this many chunks older (60 ms), not none.
LIPS_BEHIND = 3

Lips = tuple[dict[Viseme, float], bool]  # viseme weights, and whether the syllable is stressed


def frame_to_mono(frame: av.AudioFrame) -> np.ndarray:
    """A decoded (Opus) frame as float32 mono at 48 kHz."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        mono = data.astype(np.float32).mean(axis=0)
    else:
        mono = data.reshape(-1, channels).astype(np.float32).mean(axis=1)
    if data.dtype.kind == "i":
        mono /= 32768.0
    if frame.sample_rate != SAMPLE_RATE:  # Opus always decodes at 48 kHz; be safe anyway
        from avatarcall.avatar.speech import resample

        mono = resample(mono, frame.sample_rate)
    return mono


class LiveVoice:
    def __init__(self) -> None:
        self._chunks: deque[np.ndarray] = deque()
        self._buffered = 0
        self._playing = False
        self._lipsync = LiveLipSync(SAMPLE_RATE)
        self._loud_chunks = 0
        self._lips: dict[int, Lips] = {}  # per chunk played

    def feed(self, samples: np.ndarray) -> None:
        self._chunks.append(samples)
        self._buffered += len(samples)
        while self._buffered > MAX_SAMPLES and self._chunks:
            self._buffered -= len(self._chunks.popleft())

    def play(self, chunk: int, count: int) -> tuple[np.ndarray, bool]:
        """The ``count`` samples of audio chunk number ``chunk``, and whether the agent talks;
        the lips of those very samples are kept for ``lips_at``."""
        played = self._take(count)
        self._lips[chunk] = (self._lipsync.push(played), self._lipsync.stressed)
        self._lips.pop(chunk - KEPT_CHUNKS, None)
        loud = float(np.sqrt(np.mean(played * played))) > SPEECH_RMS
        self._loud_chunks = self._loud_chunks + 1 if loud else 0
        return played, self._loud_chunks >= 2

    def lips_at(self, chunk: int) -> Lips | None:
        """The lips for a frame at the start of ``chunk``: its own, else the latest played
        within ``LIPS_BEHIND`` chunks before it; ``None`` when the voice played none."""
        for k in range(chunk, chunk - LIPS_BEHIND - 1, -1):
            lips = self._lips.get(k)
            if lips is not None:
                return lips
        return None

    def _take(self, count: int) -> np.ndarray:
        """The next ``count`` samples to play (silence while buffering or on an underrun)."""
        if not self._playing and self._buffered < JITTER_SAMPLES:
            return np.zeros(count, dtype=np.float32)
        self._playing = True
        out = np.zeros(count, dtype=np.float32)
        filled = 0
        while filled < count and self._chunks:
            chunk = self._chunks[0]
            n = min(count - filled, len(chunk))
            out[filled:filled + n] = chunk[:n]
            filled += n
            if n == len(chunk):
                self._chunks.popleft()
            else:
                self._chunks[0] = chunk[n:]
            self._buffered -= n
        if filled < count:
            self._playing = False  # underrun: buffer again before playing on
        return out
