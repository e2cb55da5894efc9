"""Live capacity: how many more avatar sessions this process can render at its frame rate,
from the time its own frames take (render + encode, measured where they run).

A worker is one process, and one process is one core's worth of Python: its budget is a share
of one second per second. A session that renders costs ``fps`` frames of the median frame time,
plus its sound (a fraction of that); a session nobody watches renders nothing and costs
nothing. What the rendering used over the last seconds is measured, not assumed; frames that
came late lately mean the estimate was too kind: no new session until they stop.
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
WINDOW_SECONDS = 2.0  # how far back the rendering's use of the core is measured


class CapacityMeter:
    """A ``FrameObserver`` (called from executor threads) that knows the frame cost."""

    def __init__(self, fps: int, minimum: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fps = fps
        self.minimum = minimum  # sessions admitted whatever the measurements say
        self._clock = clock
        self._lock = threading.Lock()
        self._frames: deque[float] = deque(maxlen=500)  # render + encode, ms
        self._recent: deque[tuple[float, float]] = deque()  # (when, ms) within the window
        self._render: list[float] = []  # since the last report
        self._encode: list[float] = []
        self._late = 0
        self._late_at = -1e9
        self.calibrated_ms: float | None = None

    def frame(self, render_ms: float, encode_ms: float) -> None:
        now = self._clock()
        with self._lock:
            self._frames.append(render_ms + encode_ms)
            self._recent.append((now, render_ms + encode_ms))
            while self._recent and self._recent[0][0] < now - WINDOW_SECONDS:
                self._recent.popleft()
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

    def busy(self) -> float:
        """The share of one core the rendering used over the last ``WINDOW_SECONDS``."""
        now = self._clock()
        with self._lock:
            used = sum(ms for at, ms in self._recent if at >= now - WINDOW_SECONDS)
        return used / (WINDOW_SECONDS * 1000)

    def capacity(self, sessions: int) -> int:
        """Sessions this process can hold: those it has, and as many more as the core's
        unused budget fits (at least ``minimum`` in all)."""
        ms = self.frame_ms()
        with self._lock:
            lately_late = self._clock() - self._late_at < LATE_HOLD_SECONDS
        if ms is None or ms <= 0 or lately_late:
            more = 0
        else:
            per_session = self.fps * ms * SOUND_SHARE / 1000
            more = max(0, int((BUDGET - self.busy() * SOUND_SHARE) / per_session))
        return max(self.minimum, sessions + more)

    def take_samples(self) -> tuple[list[float], list[float], int]:
        """Frame costs and late frames since the last call (for the server's metrics)."""
        with self._lock:
            render, encode, late = self._render, self._encode, self._late
            self._render, self._encode, self._late = [], [], 0
        return render, encode, late
