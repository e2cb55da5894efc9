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
