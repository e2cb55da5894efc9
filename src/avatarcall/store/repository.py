"""``LocalCallRepository``: the call repository of one server process.

The working set (calls waiting, on, or just ended) lives in this process's memory, which is
what makes compare-and-set atomic here; every write goes through to the records (SQLite by
default, :class:`~avatarcall.store.memory.MemoryRecords` in the flow's unit tests).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, Protocol

from avatarcall.calls.journal import Entry, EntryKind
from avatarcall.calls.models import Call
from avatarcall.calls.state import CallState, is_active
from avatarcall.errors import UnknownCall, VersionConflict
from avatarcall.store.sqlite import CallEventRecord


class CallRecords(Protocol):
    """Where calls and timelines are kept for good (``CallStore``, ``MemoryRecords``)."""

    async def save_call(self, call: Call) -> None: ...

    async def load_call(self, call_id: str) -> Call | None: ...

    async def unfinished_calls(self) -> list[Call]: ...

    async def add_event(self, call_id: str, kind: str, detail: dict[str, Any] | None = None,
                        at: float | None = None) -> None: ...

    async def timeline(self, call_id: str, kinds: tuple[str, ...]) -> list[CallEventRecord]: ...


class LocalCallRepository:
    def __init__(self, records: CallRecords) -> None:
        self.records = records
        self._calls: dict[str, Call] = {}
        self._claimed: set[str] = set()  # ids being inserted (checked against the records)
        self._saving: dict[str, asyncio.Lock] = {}

    async def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    async def insert(self, call: Call) -> bool:
        if call.id in self._calls or call.id in self._claimed:
            return False
        self._claimed.add(call.id)
        try:
            if await self.records.load_call(call.id) is not None:
                return False
            self._calls[call.id] = call
            await self.records.save_call(call)
            return True
        finally:
            self._claimed.discard(call.id)

    async def put(self, call: Call) -> Call:
        current = self._calls.get(call.id)
        if current is None:
            raise UnknownCall(f"There is no call {call.id}.")
        if current.version != call.version:
            raise VersionConflict(f"call {call.id} changed meanwhile (version {current.version}, "
                                  f"written from {call.version})")
        stored = replace(call, version=call.version + 1)
        self._calls[call.id] = stored
        # Saves reach the records in the order of the versions: the lock is taken right after
        # the swap (nothing awaited between), and an asyncio lock serves its waiters in order.
        async with self._saving.setdefault(call.id, asyncio.Lock()):
            await self.records.save_call(stored)
        return stored

    async def forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)
        self._saving.pop(call_id, None)

    async def live(self) -> list[Call]:
        return sorted(self._calls.values(), key=lambda c: c.created_at)

    async def waiting(self, first: int | None = None) -> list[Call]:
        return [c for c in await self.live() if c.state is CallState.WAITING][:first]

    async def waiting_ids(self) -> list[str]:
        return [c.id for c in await self.waiting()]

    async def counts(self) -> tuple[int, int]:
        states = [c.state for c in self._calls.values()]
        return (sum(1 for s in states if is_active(s)),
                sum(1 for s in states if s is CallState.WAITING))

    async def unfinished(self) -> list[Call]:
        for call in await self.records.unfinished_calls():
            self._calls.setdefault(call.id, call)
        return [c for c in await self.live() if c.state is not CallState.ENDED]

    async def record(self, call_id: str) -> Call | None:
        return self._calls.get(call_id) or await self.records.load_call(call_id)

    async def add_event(self, call_id: str, entry: Entry, at: float | None = None) -> None:
        await self.records.add_event(call_id, entry.name, entry.detail(), at)

    async def entries(self, call_id: str, kind: EntryKind) -> list[tuple[float, dict[str, Any]]]:
        return [(e.at, e.detail) for e in await self.records.timeline(call_id, (kind.value,))]
