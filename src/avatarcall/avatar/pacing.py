"""Waiting for a frame's or a sound chunk's time on the event loop's clock.

A session's loops wait for the instant of their next frame; a frame wait can be cut short, so
a viewer whose link just connected gets its first picture now rather than at the next tick
(up to a frame's time later, 40 ms at 25 fps).
"""

from __future__ import annotations

import asyncio


async def sleep_until(deadline: float) -> None:
    """Until ``deadline`` on the running loop's clock (at once if it has passed)."""
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


class Nap:
    """A wait until a deadline that ``wake()`` ends early. One waiter at a time."""

    def __init__(self) -> None:
        self._waking: asyncio.Future[None] | None = None

    async def until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if deadline <= loop.time():
            return
        self._waking = waking = loop.create_future()
        timer = loop.call_at(deadline, _end, waking)
        try:
            await waking
        finally:
            timer.cancel()
            self._waking = None

    def wake(self) -> None:
        """End the current wait now (nothing if nobody waits)."""
        if self._waking is not None:
            _end(self._waking)


def _end(waking: asyncio.Future[None]) -> None:
    if not waking.done():
        waking.set_result(None)


# 1/φ: successive multiples of it, modulo 1, spread evenly over [0, 1) however many are taken.
_GOLDEN = 0.6180339887498949


class FramePhases:
    """Where in a frame's time each new session's clock starts.

    Sessions that start together (a worker taking over a dead one's sessions, a bench) would
    otherwise all ask for their frame at the same instant, and the last in the render thread's
    queue would wait for all the others: offset by the golden ratio's sequence, their frames
    take turns, whatever the number of sessions, and a frame waits for ~1/n of them. A viewer
    who connects gets its first picture at once anyway (``Nap.wake``), so the offset costs it
    nothing.
    """

    def __init__(self) -> None:
        self._count = 0

    def next(self, fps: int) -> float:
        """Seconds to add to a new session's start, in [0, 1 / fps)."""
        self._count += 1
        return (self._count * _GOLDEN) % 1.0 / fps


PHASES = FramePhases()  # one per process: the sessions of a process share its render thread
