"""``RedisScheduler``: the calls' timers (grace periods, the end of a call's afterlife, avatar
restarts), shared by every node and fired by exactly one.

A timer is a member ``call|timer`` of the sorted set ``{p}timers`` scored by when it is due (the
call's timers are also listed in ``{p}timers:{call}``, to cancel them all). Each node looks for
due timers a few times a second and claims each with ``ZREM``: only the node whose ``ZREM``
removed it fires it. A node that dies with a timer claimed loses that one firing; the timers
here are all safe to miss once (each checks the call again, and the call's pages set them anew).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

from redis.asyncio import Redis

from avatarcall.cluster.node import text
from avatarcall.flow.ports import Fired, Timer

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1


class RedisScheduler:
    def __init__(self, redis: Redis, prefix: str = "ac:",
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._p = prefix
        self._clock = clock

    def _member(self, call_id: str, timer: Timer) -> str:
        return f"{call_id}|{timer.value}"

    async def at(self, call_id: str, timer: Timer, delay: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(f"{self._p}timers", {self._member(call_id, timer): self._clock() + delay})
            pipe.sadd(f"{self._p}timers:{call_id}", timer.value)
            await pipe.execute()

    async def cancel(self, call_id: str, timer: Timer) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(f"{self._p}timers", self._member(call_id, timer))
            pipe.srem(f"{self._p}timers:{call_id}", timer.value)
            await pipe.execute()

    async def cancel_call(self, call_id: str) -> None:
        timers = await self._redis.smembers(f"{self._p}timers:{call_id}")
        async with self._redis.pipeline(transaction=True) as pipe:
            for timer in timers:
                pipe.zrem(f"{self._p}timers", f"{call_id}|{text(timer)}")
            pipe.delete(f"{self._p}timers:{call_id}")
            await pipe.execute()

    async def fired(self) -> AsyncIterator[Fired]:
        while True:
            try:
                due = await self._redis.zrangebyscore(f"{self._p}timers", "-inf", self._clock(),
                                                      start=0, num=100)
                for member in map(text, due):
                    if await self._redis.zrem(f"{self._p}timers", member):  # ours to fire
                        call_id, timer = member.rsplit("|", 1)
                        await self._redis.srem(f"{self._p}timers:{call_id}", timer)
                        yield Fired(call_id, Timer(timer))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("timers: Redis unreachable", exc_info=True)
                await asyncio.sleep(1.0)
            await asyncio.sleep(POLL_SECONDS)

    async def close(self) -> None:
        """Nothing of this node's: the timers belong to the service and stay in Redis."""
