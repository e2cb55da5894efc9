"""A session's frame wait: until its time, or until a viewer needs a picture now."""

import asyncio

from avatarcall.avatar.pacing import Nap, sleep_until


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
