"""``MemoryRecords``: call records and timelines in lists, for the flow's unit tests (the
server keeps them in SQLite, ``CallStore``)."""

from __future__ import annotations

import time
from typing import Any

from avatarcall.calls.models import Call
from avatarcall.calls.state import CallState
from avatarcall.store.sqlite import CallEventRecord


class MemoryRecords:
    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}
        self.events: list[CallEventRecord] = []

    async def save_call(self, call: Call) -> None:
        self.calls[call.id] = call

    async def load_call(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)

    async def unfinished_calls(self) -> list[Call]:
        return sorted((c for c in self.calls.values() if c.state is not CallState.ENDED),
                      key=lambda c: c.created_at)

    async def add_event(self, call_id: str, kind: str, detail: dict[str, Any] | None = None,
                        at: float | None = None) -> None:
        self.events.append(CallEventRecord(call_id, time.time() if at is None else at, kind,
                                           detail or {}))

    async def timeline(self, call_id: str, kinds: tuple[str, ...]) -> list[CallEventRecord]:
        return [e for e in self.events if e.call_id == call_id and e.kind in kinds]

    async def purge(self, kinds: tuple[str, ...], before: float) -> int:
        kept = [e for e in self.events if not (e.kind in kinds and e.at < before)]
        gone = len(self.events) - len(kept)
        self.events[:] = kept
        return gone

    def names(self, call_id: str) -> list[str]:
        """The call's timeline, as the kinds' names, in the order they were written."""
        return [e.kind for e in self.events if e.call_id == call_id]
