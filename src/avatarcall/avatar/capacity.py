"""Live capacity: how many more avatar sessions this process can render at its frame rate,
from the time its own frames take (render + encode, measured where they run).

A worker is one process, and one process is one core's worth of Python: its budget is a share
of one second per second. A session costs ``fps`` frames of the median frame time, plus its
sound (a fraction of that). Every session counts, watched or not yet (a waiting customer's page
is about to watch). Frames that came late lately mean the estimate was too kind: no new session
until they stop.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable

BUDGET = 0.85  # of one core: the rest is the event loop, aiortc's packetization, the sound
SOUND_SHARE = 1.12  # a session's sound (Opus, once per session) on top of its frames
LATE_HOLD_SECONDS = 3.0  # after a late frame, admit no new session for this long


class CapacityMeter:
    """A ``FrameObserver`` (called from executor threads) that knows the frame cost."""

    def __init__(self, fps: int, minimum: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fps = fps
        self.minimum = minimum  # sessions admitted whatever the measurements say
        self._clock = clock
        self._lock = threading.Lock()
        self._frames: deque[float] = deque(maxlen=500)  # render + encode, ms
        self._render: list[float] = []  # since the last report
        self._encode: list[float] = []
        self._late = 0
        self._late_at = -1e9
        self.calibrated_ms: float | None = None

    def frame(self, render_ms: float, encode_ms: float) -> None:
        with self._lock:
            self._frames.append(render_ms + encode_ms)
            if len(self._render) < 100:
                self._render.append(render_ms)
                self._encode.append(encode_ms)

    def late(self, frames: int) -> None:
        with self._lock:
            self._late += frames
            self._late_at = self._clock()

    def frame_ms(self) -> float | None:
        with self._lock:
            frames = list(self._frames)
        if len(frames) >= 25:
            return statistics.median(frames)
        return self.calibrated_ms

    def capacity(self, sessions: int) -> int:
        """Sessions this process can keep at ``fps`` (at least ``minimum``); while frames come
        late, no more than it has."""
        ms = self.frame_ms()
        fits = int(BUDGET * 1000 / (self.fps * ms * SOUND_SHARE)) if ms else 0
        with self._lock:
            lately_late = self._clock() - self._late_at < LATE_HOLD_SECONDS
        if lately_late:
            fits = min(fits, sessions)
        return max(self.minimum, fits)

    def take_samples(self) -> tuple[list[float], list[float], int]:
        """Frame costs and late frames since the last call (for the server's metrics)."""
        with self._lock:
            render, encode, late = self._render, self._encode, self._late
            self._render, self._encode, self._late = [], [], 0
        return render, encode, late
