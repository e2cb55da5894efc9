"""Fakes of the flow's ports for its unit tests: a scheduler on a hand-moved clock and a tab that
keeps what it was sent. With :class:`~avatarcall.store.memory.MemoryRecords` and
:class:`~avatarcall.avatar.fake.FakeAvatarControl` they run the whole call flow in-process, in
milliseconds, with nothing real but the flow itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

from avatarcall.flow.ports import Fired, Timer
from avatarcall.signaling.messages import ServerMessage

M = TypeVar("M")


class ManualScheduler:
    """Timers fire when a test moves the clock (:meth:`advance`), never by themselves."""

    def __init__(self) -> None:
        self.now = 0.0
        self._due: dict[tuple[str, Timer], float] = {}

    async def at(self, call_id: str, timer: Timer, delay: float) -> None:
        self._due[(call_id, timer)] = self.now + delay

    async def cancel(self, call_id: str, timer: Timer) -> None:
        self._due.pop((call_id, timer), None)

    async def cancel_call(self, call_id: str) -> None:
        for key in [k for k in self._due if k[0] == call_id]:
            del self._due[key]

    def pending(self, call_id: str) -> set[Timer]:
        return {timer for call, timer in self._due if call == call_id}

    def advance(self, seconds: float) -> list[Fired]:
        """Move the clock; the timers now due, in the order they fell due."""
        self.now += seconds
        due = sorted((at, key) for key, at in self._due.items() if at <= self.now)
        for _, key in due:
            del self._due[key]
        return [Fired(call_id, timer) for _, (call_id, timer) in due]

    async def fired(self) -> AsyncIterator[Fired]:
        await asyncio.Event().wait()  # never: tests hand the flow what advance() returns
        yield Fired("", Timer.GRACE)

    async def close(self) -> None:
        self._due.clear()


class RecordingOutlet:
    """A tab's connection that keeps every message (``LocalPeerBus.attach``)."""

    def __init__(self) -> None:
        self.sent: list[ServerMessage] = []
        self.closed = False
        self.was_replaced = False

    def send(self, message: ServerMessage) -> None:
        self.sent.append(message)

    def close(self) -> None:
        self.closed = True

    def replaced(self) -> None:
        self.closed = self.was_replaced = True

    def of(self, kind: type[M]) -> list[M]:
        return [m for m in self.sent if isinstance(m, kind)]

    def last(self, kind: type[M]) -> M:
        found = self.of(kind)
        if not found:
            raise LookupError(f"no {kind.__name__} among {self.types()}")
        return found[-1]

    def types(self) -> list[str]:
        return [m.type for m in self.sent]
