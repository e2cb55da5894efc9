"""``QueueTeller``: who is told what of the queue. The agents' consoles get the waiting
customers (the longest-waiting first); each waiting customer gets their place in line, how many
agents are online, and an estimated wait from how often calls were taken lately. At once, or
(``every``) at most that often: many changes in one go (a thousand customers joining in a second
make a few messages, not a thousand), and a customer is told only when what they see changed
(their place, the agents online, the estimate; not the length of the line behind them).

Each node tells its own tabs: a change made here is announced to the other nodes (one message
per round, whatever the number of changes), which tell theirs. A round costs one read of the
queue's ids and, for agents' consoles, of its first ``QUEUE_SHOWN`` calls."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from itertools import pairwise

from avatarcall.assistant import Waiting
from avatarcall.calls.models import Role
from avatarcall.flow import projection
from avatarcall.flow.ports import CallRepository, PeerBus
from avatarcall.signaling import messages as m


class QueueTeller:
    def __init__(self, repo: CallRepository, bus: PeerBus,
                 spawn: Callable[[Awaitable[None]], None], *, every: float = 0.0,
                 clock: Callable[[], float]) -> None:
        self._repo = repo
        self._bus = bus
        self._spawn = spawn
        self._every = every
        self._clock = clock
        self._due = False
        self._announce = False  # a change made here: the other nodes are to hear of it
        self._accepted: deque[float] = deque(maxlen=10)  # when the last calls were taken
        self._told: dict[str, tuple[int, int, float | None]] = {}  # call -> what they saw
        bus.watch_queue(self._round)

    def accepted(self, at: float) -> None:
        self._accepted.append(at)

    def forget(self, call_id: str) -> None:
        """Tell this customer again next time (a new tab of theirs)."""
        self._told.pop(call_id, None)

    async def changed(self) -> None:
        """The queue changed here (a call joined or left it, a page opened or closed)."""
        self._announce = True
        await self._round()

    async def _round(self) -> None:
        """Tell this node's tabs, now or (``every``) in one round soon."""
        if not self._every:
            await self._tell()
            return
        if self._due:
            return
        self._due = True

        async def soon() -> None:
            await asyncio.sleep(self._every)
            self._due = False
            await self._tell()

        self._spawn(soon())

    async def place(self, call_id: str) -> Waiting | None:
        """The customer's place in line now, as the assistant tells it (None: not in line)."""
        ids = await self._repo.waiting_ids()
        if call_id not in ids:
            return None
        position = ids.index(call_id) + 1
        interval = self.interval()
        return Waiting(position=position, agents_online=await self._bus.agents_online(),
                       estimated_wait=position * interval if interval is not None else None)

    async def listing(self, total: int | None = None) -> m.QueueUpdate:
        """What an agent's console lists: who waits, and whose page is closed."""
        shown = await self._repo.waiting(projection.QUEUE_SHOWN)
        away = [c.id for c in shown if not await self._bus.present(c.id, Role.CUSTOMER)]
        if total is None:
            total = (await self._repo.counts())[1]
        return projection.queue(shown, away, total=max(total, len(shown)))

    async def _tell(self) -> None:
        if self._announce:
            self._announce = False
            await self._bus.queue_changed()
        ids = await self._repo.waiting_ids()
        place = {call_id: position for position, call_id in enumerate(ids, 1)}
        here = self._bus.here()
        consoles = [tab.id for tab, _ in here if tab.role is Role.AGENT]
        if consoles:
            listing = await self.listing(len(ids))
            for tab_id in consoles:
                await self._bus.send_tab(tab_id, listing)
        customers = [(tab.id, call_id) for tab, call_id in here
                     if tab.role is Role.CUSTOMER and call_id in place]
        if customers:
            agents = await self._bus.agents_online()
            interval = self.interval()
            for tab_id, call_id in customers:
                position = place[call_id]
                wait = position * interval if interval is not None else None
                told = (position, agents, wait)
                if self._told.get(call_id) == told:
                    continue  # only those who would see something new
                self._told[call_id] = told
                await self._bus.send_tab(tab_id, m.QueuePosition(
                    call_id=call_id, position=position, total=len(ids), agents_online=agents,
                    estimated_wait=wait))
        for call_id in set(self._told) - place.keys():
            del self._told[call_id]

    def interval(self) -> float | None:
        """Seconds between calls being taken lately (the estimated wait of one place in line);
        None without enough of them in the last hour."""
        now = self._clock()
        recent = [at for at in self._accepted if now - at < 3600]
        if len(recent) < 2:
            return None
        gaps = sorted(b - a for a, b in pairwise(recent))
        return gaps[len(gaps) // 2]
