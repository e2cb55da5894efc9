"""``FakeAvatarControl``: an :class:`AvatarControl` that renders nothing and remembers what it was
asked, for the flow's unit tests (as httpx ships ``MockTransport`` beside its transports).

Sessions are epochs in a dict; tests make them fail (:meth:`fail`), report a viewer's link
(:meth:`link_state`), and set a capacity to see the waiting line at work.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

from avatarcall.avatar.control import (
    AvatarEvent,
    AvatarFailed,
    AvatarLoad,
    Fault,
    SlotFreed,
    ViewerLinkChanged,
)
from avatarcall.errors import AvatarBusy, AvatarUnavailable, BadSdp


class FakeAvatarControl:
    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity
        self.live: dict[str, int] = {}  # key -> epoch
        self.languages: dict[str, str] = {}
        self.said: list[tuple[str, str, bool]] = []  # (key, text, when_watched)
        self.said_in: list[str | None] = []  # the language asked for each, if any
        self.appended: list[bool] = []  # whether each came after the one before (streamed)
        self.voices: dict[str, str | None] = {}
        self.viewers: dict[tuple[str, str], int] = {}  # (key, viewer) -> epoch
        self.started: list[str] = []  # keys, in the order their sessions started
        self.interrupted: list[str] = []
        self._events: asyncio.Queue[AvatarEvent] = asyncio.Queue()
        self._epochs = itertools.count(1)

    async def epoch(self, key: str) -> int | None:
        return self.live.get(key)

    async def running(self) -> list[tuple[str, int]]:
        return list(self.live.items())

    def current(self, key: str) -> int | None:
        """(for tests, without awaiting)"""
        return self.live.get(key)

    def texts(self, key: str) -> list[str]:
        return [text for k, text, _ in self.said if k == key]

    # --- AvatarControl ------------------------------------------------------------------

    async def start(self, key: str, language: str) -> int:
        await self.stop(key)
        if self.capacity is not None and len(self.live) >= self.capacity:
            raise AvatarBusy("Every avatar this server can render is in use.")
        epoch = self.live[key] = next(self._epochs)
        self.languages[key] = language
        self.started.append(key)
        return epoch

    async def stop(self, key: str) -> None:
        epoch = self.live.pop(key, None)
        self.voices.pop(key, None)
        for slot in [s for s in self.viewers if s[0] == key]:
            del self.viewers[slot]
        if epoch is not None:
            self._events.put_nowait(SlotFreed(key, epoch))

    async def say(self, key: str, text: str, *, when_watched: bool = False,
                  language: str | None = None, append: bool = False) -> None:
        if key not in self.live:
            raise AvatarUnavailable("This avatar is not running.")
        self.said.append((key, text, when_watched))
        self.said_in.append(language)
        self.appended.append(append)

    async def interrupt(self, key: str) -> None:
        self.interrupted.append(key)

    async def use_voice(self, key: str, viewer: str | None) -> None:
        self.voices[key] = viewer

    async def answer(self, key: str, epoch: int, viewer: str, sdp: str, *, audience: bool) -> str:
        if self.live.get(key) != epoch:
            raise AvatarUnavailable("This avatar is not running any more; wait for the next one.")
        if not sdp.startswith("v=0"):
            raise BadSdp("the avatar offer could not be read")
        self.viewers[(key, viewer)] = epoch
        return f"v=0 answer {key} {epoch} {viewer}"

    async def drop_viewer(self, key: str, viewer: str) -> None:
        self.viewers.pop((key, viewer), None)

    async def fault(self, key: str, kind: Fault) -> int:
        epoch = self.live.get(key)
        if epoch is None:
            raise AvatarUnavailable("This avatar is not running.")
        self.fail(key, "avatar_crashed" if kind == "crash" else "avatar_stopped")
        return epoch

    async def events(self) -> AsyncIterator[AvatarEvent]:  # type: ignore[override]
        while True:
            yield await self._events.get()

    def load(self) -> AvatarLoad:
        return AvatarLoad(sessions=len(self.live), viewers=len(self.viewers),
                          capacity=self.capacity)

    async def close(self) -> None:
        for key in list(self.live):
            await self.stop(key)

    # --- what tests make happen ---------------------------------------------------------

    def drain(self) -> list[AvatarEvent]:
        """The events not yet consumed (a test hands them to the flow itself)."""
        events = []
        while not self._events.empty():
            events.append(self._events.get_nowait())
        return events

    def fail(self, key: str, code: str = "avatar_crashed") -> None:
        """The session of ``key`` fails, as a crash of its render loop would."""
        epoch = self.live.pop(key)
        for slot in [s for s in self.viewers if s[0] == key]:
            del self.viewers[slot]
        self._events.put_nowait(AvatarFailed(key, epoch, code, "The avatar stopped unexpectedly.",
                                             retryable=True))
        self._events.put_nowait(SlotFreed(key, epoch))

    def link_state(self, key: str, viewer: str, state: str) -> None:
        self._events.put_nowait(ViewerLinkChanged(key, self.live[key], viewer, state))
