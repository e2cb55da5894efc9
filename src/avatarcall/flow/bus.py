"""``LocalPeerBus``: the browser tabs connected to this process, addressed by (call, role).

The transport (``web/ws.py``) attaches each tab's connection, and detaches it when the socket
closes; the flow only ever names tabs and participants. What a participant is sent is numbered
and the last ``LOG_KEPT`` kept, so a tab that comes back after a cut gets what it missed, once.
"""

from __future__ import annotations

import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from avatarcall.calls.models import Role
from avatarcall.flow.ports import Tab
from avatarcall.signaling.messages import ServerMessage

LOG_KEPT = 256  # messages kept per participant of a call, for a tab that comes back


@dataclass
class _Log:
    """What one participant of a call was sent: the last number, and the last messages."""

    last: int = 0
    kept: deque[ServerMessage] = field(default_factory=lambda: deque(maxlen=LOG_KEPT))


class Outlet(Protocol):
    """What the bus needs of a tab's connection."""

    def send(self, message: ServerMessage) -> None: ...

    def close(self) -> None:
        """Close as a network cut would (the page comes back by itself)."""

    def replaced(self) -> None:
        """Another tab is now this participant: tell this one, and close it for good."""


class LocalPeerBus:
    def __init__(self) -> None:
        self._tabs: dict[str, tuple[Tab, Outlet]] = {}
        self._call_of: dict[str, str] = {}
        self._holders: dict[tuple[str, Role], str] = {}
        self._agents: Counter[str] = Counter()  # agents' names -> their tabs open here
        self._logs: dict[tuple[str, Role], _Log] = {}
        self._cursor: dict[str, int] = {}  # tab -> the last number it was sent

    # --- the transport's side --------------------------------------------------------------

    def attach(self, tab: Tab, outlet: Outlet) -> None:
        self._tabs[tab.id] = (tab, outlet)
        if tab.role is Role.AGENT:
            self._agents[tab.name] += 1

    def detach(self, tab: str) -> Tab | None:
        """The tab's socket closed; the tab it was, if it was attached."""
        entry = self._tabs.pop(tab, None)
        if entry is not None and entry[0].role is Role.AGENT:
            self._agents[entry[0].name] -= 1
            if not self._agents[entry[0].name]:
                del self._agents[entry[0].name]
        self._cursor.pop(tab, None)
        call_id = self._call_of.pop(tab, None)
        for role in Role:
            if call_id is not None and self._holders.get((call_id, role)) == tab:
                del self._holders[(call_id, role)]
        return entry[0] if entry is not None else None

    def tab_count(self) -> int:
        return len(self._tabs)

    def new_tab_id(self) -> str:
        return uuid.uuid4().hex

    def close_tab(self, tab: str) -> None:
        entry = self._tabs.get(tab)
        if entry is not None:
            entry[1].close()

    def replace_tab(self, tab: str) -> None:
        """Another tab (on another node) is now this one's participant."""
        entry = self._tabs.get(tab)
        if entry is not None:
            entry[1].replaced()
        self._call_of.pop(tab, None)

    # --- PeerBus --------------------------------------------------------------------------

    async def bind(self, tab: str, call_id: str, role: Role, since: int | None = None) -> int:
        # One live socket per participant: the newer tab wins (a reload, a reconnect, a copied
        # link); the older one is told and closed, so nobody multiplies their limits.
        older = self._holders.get((call_id, role))
        if older is not None and older != tab:
            self._call_of.pop(older, None)
            entry = self._tabs.get(older)
            if entry is not None:
                entry[1].replaced()
        self._call_of[tab] = call_id
        self._holders[(call_id, role)] = tab
        log = self._logs.get((call_id, role))
        last = log.last if log is not None else 0
        self._cursor[tab] = since if since is not None and 0 <= since <= last else last
        return self._cursor[tab]

    async def catch_up(self, tab: str, call_id: str, role: Role) -> None:
        log = self._logs.get((call_id, role))
        if log is None or self._holders.get((call_id, role)) != tab:
            return
        missed = min(log.last - self._cursor.get(tab, log.last), len(log.kept))
        self._cursor[tab] = log.last
        for back in range(missed, 0, -1):
            await self.send_tab(tab, log.kept[-back])

    async def unbind(self, call_id: str, role: Role, tab: str | None = None) -> None:
        holder = self._holders.get((call_id, role))
        if holder is None or (tab is not None and holder != tab):
            return
        del self._holders[(call_id, role)]
        if self._call_of.get(holder) == call_id:
            del self._call_of[holder]

    async def call_of(self, tab: str) -> str | None:
        return self._call_of.get(tab)

    async def holder(self, call_id: str, role: Role) -> str | None:
        return self._holders.get((call_id, role))

    async def present(self, call_id: str, role: Role) -> bool:
        return (call_id, role) in self._holders

    async def send(self, call_id: str, role: Role, message: ServerMessage) -> None:
        log = self._logs.setdefault((call_id, role), _Log())
        log.last += 1
        log.kept.append(message.model_copy(update={"seq": log.last}))
        tab = self._holders.get((call_id, role))
        if tab is not None:
            await self.catch_up(tab, call_id, role)

    async def forget(self, call_id: str) -> None:
        for role in Role:
            self._logs.pop((call_id, role), None)

    async def send_tab(self, tab: str, message: ServerMessage) -> None:
        entry = self._tabs.get(tab)
        if entry is not None:
            entry[1].send(message)

    def here(self) -> list[tuple[Tab, str | None]]:
        return [(tab, self._call_of.get(tab.id)) for tab, _ in self._tabs.values()]

    async def queue_changed(self) -> None:
        """One process: no other node to tell."""

    def watch_queue(self, changed: Callable[[], Awaitable[None]]) -> None:
        """One process: no other node to hear from."""

    async def agents_online(self) -> int:
        return len(self._agents)

    async def drop(self, call_id: str, role: Role) -> bool:
        entry = self._tabs.get(self._holders.get((call_id, role), ""))
        if entry is None:
            return False
        entry[1].close()
        return True
