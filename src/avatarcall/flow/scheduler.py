"""``AsyncioScheduler``: timers per call on this process's event loop, fired as data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from avatarcall.flow.ports import Fired, Timer


class AsyncioScheduler:
    def __init__(self) -> None:
        self._handles: dict[tuple[str, Timer], asyncio.TimerHandle] = {}
        self._fired: asyncio.Queue[Fired] = asyncio.Queue()

    async def at(self, call_id: str, timer: Timer, delay: float) -> None:
        self._drop(call_id, timer)
        loop = asyncio.get_running_loop()
        self._handles[(call_id, timer)] = loop.call_later(delay, self._fire, call_id, timer)

    def _fire(self, call_id: str, timer: Timer) -> None:
        self._handles.pop((call_id, timer), None)
        self._fired.put_nowait(Fired(call_id, timer))

    async def cancel(self, call_id: str, timer: Timer) -> None:
        self._drop(call_id, timer)

    async def cancel_call(self, call_id: str) -> None:
        for call, timer in [k for k in self._handles if k[0] == call_id]:
            self._drop(call, timer)

    def _drop(self, call_id: str, timer: Timer) -> None:
        handle = self._handles.pop((call_id, timer), None)
        if handle is not None:
            handle.cancel()

    def pending(self, call_id: str) -> set[Timer]:
        return {timer for call, timer in self._handles if call == call_id}

    async def fired(self) -> AsyncIterator[Fired]:
        while True:
            yield await self._fired.get()

    async def close(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
