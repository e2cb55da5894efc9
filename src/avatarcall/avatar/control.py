"""``AvatarControl``: how the rest of the server drives avatars, in plain data only.

A session is named by a key (a call id, or a diagnostic's) and a whole number, its epoch, that
is new at every start: whatever refers to an older epoch is stale. Callers never hold a session
object: where sessions run (this process, a worker process, another machine) is the adapter's
business. What happens to sessions comes back as events, in order, from :meth:`events`.

Adapters: ``avatar/local.py`` (sessions in this process) and ``avatar/fake.py`` (records what it
is asked, for the flow's unit tests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

from avatarcall.errors import AvatarMoved, AvatarWorkerLost

Fault = Literal["crash", "stop"]
# Failures that are not the avatar's: its worker went away or drains. Start it again at once.
RESTART_AT_ONCE = frozenset({AvatarWorkerLost.code, AvatarMoved.code})


@dataclass(frozen=True)
class AvatarFailed:
    """The session of ``epoch`` failed (it is gone; its slot is free)."""

    key: str
    epoch: int
    code: str
    message: str
    retryable: bool


@dataclass(frozen=True)
class ViewerLinkChanged:
    """A viewer's avatar link changed state, as the server's peer connection sees it."""

    key: str
    epoch: int
    viewer: str
    state: str


@dataclass(frozen=True)
class SlotFreed:
    """A session ended (stopped or failed): one more avatar may start."""

    key: str
    epoch: int


@dataclass(frozen=True)
class Heard:
    """What the audience said aloud to the avatar (a turn of speech, recognised)."""

    key: str
    epoch: int
    text: str


AvatarEvent = AvatarFailed | ViewerLinkChanged | SlotFreed | Heard


@dataclass(frozen=True)
class AvatarLoad:
    sessions: int
    viewers: int
    capacity: int | None  # sessions that may run at once; None: no limit


class AvatarControl(Protocol):
    async def start(self, key: str, language: str) -> int:
        """Start (or restart) the avatar of ``key``; its new epoch.
        Raises :class:`~avatarcall.errors.AvatarBusy` when no session can start now."""

    async def stop(self, key: str) -> None:
        """Stop the avatar of ``key`` and close its viewers' links (nothing if none)."""

    async def epoch(self, key: str) -> int | None:
        """The epoch of ``key``'s running avatar, or None."""

    async def running(self) -> list[tuple[str, int]]:
        """(key, epoch) of every avatar running here."""

    async def say(self, key: str, text: str, *, when_watched: bool = False,
                  language: str | None = None, append: bool = False) -> None:
        """Speak (in ``language``, else the call's), cutting off what it was saying (``append``:
        after it, the next sentence of a streamed answer);
        ``when_watched``: once the audience's link is up (a greeting). Raises :class:`~avatarcall.errors.AvatarUnavailable` if not running."""

    async def interrupt(self, key: str) -> None:
        """Stop speaking at once (speech, lips and the sound already queued); nothing if not
        running."""

    async def use_voice(self, key: str, viewer: str | None) -> None:
        """Speak with the voice that ``viewer`` sends on its link (from its next answer on), or
        with synthesised speech again (``None``)."""

    async def answer(self, key: str, epoch: int, viewer: str, sdp: str, *, audience: bool) -> str:
        """Answer ``viewer``'s offer for the session of ``epoch``; it replaces that viewer's older
        link. ``audience``: the person the avatar speaks to (speech ``when_watched`` waits for
        them). Raises ``AvatarUnavailable`` for a stale epoch, ``BadSdp`` for a bad offer."""

    async def drop_viewer(self, key: str, viewer: str) -> None:
        """Close ``viewer``'s link (the page no longer shows this avatar)."""

    async def fault(self, key: str, kind: Fault) -> int:
        """Drills: crash the render loop, or stop the session as failed; the epoch hit."""

    def events(self) -> AsyncIterator[AvatarEvent]:
        """What happens to sessions, in order; one consumer."""

    def load(self) -> AvatarLoad: ...

    async def close(self) -> None: ...
