"""``QueueTeller``: who is told what of the queue. The agents' consoles get the waiting
customers (the longest-waiting first); each waiting customer gets their place in line, how many
agents are online, and an estimated wait from how often calls were taken lately. At once, or
(``every``) at most that often: many changes in one go (a thousand customers joining in a second
make a few messages, not a thousand), and a customer is told only when their place changed."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from itertools import pairwise

from avatarcall.assistant import Waiting
from avatarcall.calls.models import Call, Role
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
        self._accepted: deque[float] = deque(maxlen=10)  # when the last calls were taken
        self._told: dict[str, tuple[int, int, int]] = {}  # call -> (position, total, agents)

    def accepted(self, at: float) -> None:
        self._accepted.append(at)

    def forget(self, call_id: str) -> None:
        """Tell this customer again next time (a new tab of theirs)."""
        self._told.pop(call_id, None)

    async def changed(self) -> None:
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
        waiting = await self._repo.waiting()
        ids = [c.id for c in waiting]
        if call_id not in ids:
            return None
        position = ids.index(call_id) + 1
        interval = self.interval()
        return Waiting(position=position, agents_online=await self._bus.agents_online(),
                       estimated_wait=position * interval if interval is not None else None)

    async def listing(self, waiting: list[Call] | None = None) -> m.QueueUpdate:
        """What an agent's console lists: who waits, and whose page is closed."""
        if waiting is None:
            waiting = await self._repo.waiting()
        shown = waiting[:projection.QUEUE_SHOWN]
        away = [c.id for c in shown if not await self._bus.present(c.id, Role.CUSTOMER)]
        return projection.queue(waiting, away)

    async def _tell(self) -> None:
        waiting = await self._repo.waiting()
        await self._bus.to_agents(await self.listing(waiting))
        agents = await self._bus.agents_online()
        interval = self.interval()
        for position, call in enumerate(waiting, 1):
            told = (position, len(waiting), agents)
            if self._told.get(call.id) == told:
                continue  # only those whose place (or the agents online) changed
            self._told[call.id] = told
            await self._bus.send(call.id, Role.CUSTOMER, m.QueuePosition(
                call_id=call.id, position=position, total=len(waiting), agents_online=agents,
                estimated_wait=position * interval if interval is not None else None))
        for call_id in set(self._told) - {c.id for c in waiting}:
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
