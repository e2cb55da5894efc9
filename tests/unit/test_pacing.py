"""A session's frame wait: until its time, or until a viewer needs a picture now."""

import asyncio
from itertools import pairwise

from avatarcall.avatar.pacing import FramePhases, Nap, sleep_until


async def test_a_nap_ends_at_its_deadline_or_when_woken() -> None:
    loop = asyncio.get_running_loop()
    nap = Nap()
    await nap.until(loop.time() + 0.01)  # its deadline
    nap.wake()  # nobody waits: nothing happens, and the next wait is not cut short by it
    waiting = asyncio.create_task(nap.until(loop.time() + 60))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    nap.wake()
    await asyncio.wait_for(waiting, 5)  # woken, long before its minute


async def test_a_cancelled_nap_leaves_nothing_behind() -> None:
    loop = asyncio.get_running_loop()
    nap = Nap()
    waiting = asyncio.create_task(nap.until(loop.time() + 60))
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    nap.wake()  # the cancelled wait is gone: no error
    await nap.until(loop.time() - 1)  # a deadline past: at once
    await sleep_until(loop.time() - 1)


def test_sessions_started_together_take_turns_over_a_frame() -> None:
    phases = FramePhases()
    for count in range(2, 25):  # however many start, and wherever the sequence stands
        offsets = sorted(phases.next(25) for _ in range(count))
        assert all(0 <= o < 1 / 25 for o in offsets)
        gaps = [b - a for a, b in pairwise(offsets)] + [offsets[0] + 1 / 25 - offsets[-1]]
        assert max(gaps) < 2.7 / count / 25  # evenly spread: no crowd at one instant
