"""The ports the call flow talks through. Each has an in-process adapter (the default, one
server) and a fake for the flow's unit tests; scale-out swaps adapters, not the flow.

- :class:`CallRepository`: the calls and their timelines (``store/repository.py``).
- :class:`PeerBus`: browser tabs, addressed by (call, role) or by tab id (``flow/bus.py``).
- :class:`Scheduler`: timers per call that fire as data (``flow/scheduler.py``).
- the avatars: :class:`~avatarcall.avatar.control.AvatarControl`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from avatarcall.calls.journal import Entry, EntryKind
from avatarcall.calls.models import Call, Role
from avatarcall.signaling.messages import ServerMessage


@dataclass(frozen=True)
class Tab:
    """A browser tab's signaling connection, as the flow knows it: who is there."""

    id: str
    role: Role
    name: str


class CallRepository(Protocol):
    """Calls being handled (the working set) and every call's record and timeline."""

    async def get(self, call_id: str) -> Call | None:
        """A call of the working set (waiting, on, or ended and not yet forgotten)."""

    async def insert(self, call: Call) -> bool:
        """Add a new call, unless one with its id exists (in the working set or the records)."""

    async def put(self, call: Call) -> Call:
        """Write ``call`` if the stored one has its ``version`` (compare-and-set); the call as
        stored, one version on. Raises :class:`~avatarcall.errors.VersionConflict` otherwise."""

    async def forget(self, call_id: str) -> None:
        """The call leaves the working set; its record stays."""

    async def live(self) -> list[Call]:
        """The working set, oldest first."""

    async def waiting(self, first: int | None = None) -> list[Call]:
        """The calls waiting for an agent, oldest first (the queue); only the ``first`` ones if
        given."""

    async def waiting_ids(self) -> list[str]:
        """The ids of the calls waiting, oldest first: everyone's place in line."""

    async def counts(self) -> tuple[int, int]:
        """(calls on: connecting, connected or reconnecting; calls waiting)."""

    async def unfinished(self) -> list[Call]:
        """Calls not ended, from the records, back in the working set (after a restart)."""

    async def record(self, call_id: str) -> Call | None:
        """A call as recorded, forgotten or not."""

    async def add_event(self, call_id: str, entry: Entry, at: float | None = None) -> None:
        """Add to the call's timeline (at ``at``, a page's clock, or now)."""

    async def entries(self, call_id: str, kind: EntryKind) -> list[tuple[float, dict[str, Any]]]:
        """(when, detail) of the call's timeline entries of ``kind``, in order."""


class PeerBus(Protocol):
    """The browser tabs: which tab is which participant of which call, and what they are told."""

    async def bind(self, tab: str, call_id: str, role: Role, since: int | None = None) -> int:
        """``tab`` is now ``role`` in the call (a newer tab of the same participant wins). What
        the participant is sent is numbered: the tab is sent what follows ``since`` (the last
        number it saw before a reconnect), or what follows now; the number it follows."""

    async def catch_up(self, tab: str, call_id: str, role: Role) -> None:
        """Send ``tab`` what its participant was sent since its cursor (after its welcome)."""

    async def unbind(self, call_id: str, role: Role, tab: str | None = None) -> None:
        """Nobody is ``role`` in the call any more (if ``tab`` is given: only if it is the one)."""

    async def call_of(self, tab: str) -> str | None: ...

    async def holder(self, call_id: str, role: Role) -> str | None:
        """The tab that is ``role`` in the call, if any."""

    async def present(self, call_id: str, role: Role) -> bool: ...

    async def send(self, call_id: str, role: Role, message: ServerMessage) -> None:
        """To the participant: numbered and kept (the last ``LOG_KEPT``), and sent to their tab
        if one is there; a tab that comes back with the last number it saw gets the rest."""

    async def forget(self, call_id: str) -> None:
        """The call left the working set: what its participants were sent goes too."""

    async def send_tab(self, tab: str, message: ServerMessage) -> None: ...

    def here(self) -> list[tuple[Tab, str | None]]:
        """This process's tabs, each with the call it is in (each node tells its own tabs of
        the queue)."""

    async def queue_changed(self) -> None:
        """Tell the other nodes the queue changed (nothing to do with one process)."""

    def watch_queue(self, changed: Callable[[], Awaitable[None]]) -> None:
        """``changed()`` when another node says the queue changed."""

    async def agents_online(self) -> int:
        """How many agents' tabs are open (on every node)."""

    async def drop(self, call_id: str, role: Role) -> bool:
        """Close the participant's connection as a network cut would (drills); False: none."""


class Timer(StrEnum):
    GRACE = "grace"  # the customer's page is gone: the call is abandoned after the grace period
    AGENT_GRACE = "agent-grace"  # the agent's page is gone during the call
    AFTER = "after"  # the call ended: it leaves the working set after the avatar's goodbye
    AVATAR_RESTART = "avatar-restart"  # the avatar failed: a new session after a short delay


@dataclass(frozen=True)
class Fired:
    call_id: str
    timer: Timer


class Scheduler(Protocol):
    """Timers per call; one of each kind per call (setting it again replaces it). With several
    nodes, a timer fires on exactly one of them."""

    async def at(self, call_id: str, timer: Timer, delay: float) -> None: ...

    async def cancel(self, call_id: str, timer: Timer) -> None: ...

    async def cancel_call(self, call_id: str) -> None:
        """Every timer of the call (it is forgotten)."""

    def fired(self) -> AsyncIterator[Fired]:
        """The timers as they fire, in order; one consumer."""

    async def close(self) -> None: ...
