"""The whole call flow in-process, on fakes (``flow/fakes.py``, ``FakeAvatarControl``,
``MemoryRecords``): pages are recording outlets on the real ``LocalPeerBus``, time moves when
a test says so. A scenario of the browser tests runs here in milliseconds."""

from __future__ import annotations

import json
import uuid
from typing import Any

from avatarcall.assistant import Assistant
from avatarcall.avatar.fake import FakeAvatarControl
from avatarcall.calls.models import Call, Role
from avatarcall.errors import AvatarCallError
from avatarcall.flow.bus import LocalPeerBus
from avatarcall.flow.call_flow import CallFlow
from avatarcall.flow.diagnostics import DiagnosticSessions
from avatarcall.flow.fakes import ManualScheduler, RecordingOutlet
from avatarcall.flow.ports import Tab
from avatarcall.ice import IceConfig
from avatarcall.ice.provider import IceProvider
from avatarcall.metrics import Metrics
from avatarcall.signaling import messages as m
from avatarcall.store.memory import MemoryRecords
from avatarcall.store.repository import LocalCallRepository

WAITING_GRACE = 20.0
AFTER_CALL = 120.0


class Page:
    """A browser tab as the flow sees it, with what it was sent."""

    def __init__(self, harness: FlowHarness, role: Role, name: str) -> None:
        self.harness = harness
        self.tab = Tab(id=uuid.uuid4().hex, role=role, name=name)
        self.outlet = RecordingOutlet()

    @property
    def sent(self) -> list[m.ServerMessage]:
        return self.outlet.sent

    def last(self, kind: type[Any]) -> Any:
        return self.outlet.last(kind)

    def types(self) -> list[str]:
        return self.outlet.types()

    def clear(self) -> None:
        self.outlet.sent.clear()

    def views(self) -> list[m.AvatarViewChanged]:
        return self.outlet.of(m.AvatarViewChanged)

    async def send(self, message: dict[str, Any]) -> str | None:
        """Handle ``message`` as the socket would; the error code it got, if any."""
        msg = m.parse_client_message(json.dumps(message))
        try:
            await self.harness.flow.handle(self.tab, msg)
        except AvatarCallError as exc:
            return exc.code
        finally:
            await self.harness.pump()
        return None

    async def leave(self) -> None:
        """The tab's socket closes."""
        await self.harness.flow.disconnect(self.tab)
        self.harness.bus.detach(self.tab.id)
        await self.harness.pump()


class FlowHarness:
    def __init__(self, *, capacity: int | None = None, restart_delay: float = 1.0,
                 after_call: float = AFTER_CALL, records: MemoryRecords | None = None,
                 answers: Assistant | None = None) -> None:
        self.records = records or MemoryRecords()  # another harness's: a restarted server
        self.repo = LocalCallRepository(self.records)
        self.bus = LocalPeerBus()
        self.scheduler = ManualScheduler()
        self.avatars = FakeAvatarControl(capacity)
        self.metrics = Metrics()
        self.now = 1_000_000.0
        self.flow = CallFlow(
            self.repo, self.bus, self.scheduler, self.avatars, IceProvider(IceConfig()),
            self.metrics, waiting_grace=WAITING_GRACE, after_call=after_call,
            restart_delay=restart_delay, mint_resume=lambda call_id, name: f"resume:{call_id}",
            clock=lambda: self.now, answers=answers)
        self.diagnostics = DiagnosticSessions(self.flow.director.seats, self.avatars)

    async def pump(self) -> None:
        """Hand the avatars' events to the flow until there are none."""
        while events := self.avatars.drain():
            for event in events:
                await self.flow.director.on_event(event)

    async def advance(self, seconds: float) -> None:
        """Time passes: the timers due fire, in order."""
        self.now += seconds
        for fired in self.scheduler.advance(seconds):
            await self.flow.on_timer(fired)
            await self.pump()

    async def connect(self, role: Role, name: str, call_id: str | None = None,
                      since: int | None = None) -> Page:
        page = Page(self, role, name)
        self.bus.attach(page.tab, page.outlet)
        await self.flow.connect(page.tab, call_id, since)
        await self.pump()
        return page

    async def customer(self, name: str = "Zoé", language: str = "fr",
                       topic: str | None = None) -> tuple[Call, Page]:
        """A customer starts a call and their page connects."""
        call = await self.flow.create_call(language, name, topic=topic)
        await self.pump()
        return call, await self.connect(Role.CUSTOMER, name, call.id)

    async def agent(self, name: str = "alice", resume: str | None = None) -> Page:
        return await self.connect(Role.AGENT, name, resume)

    async def call(self) -> Call:
        """The call as the repository has it now (the only one, or the newest)."""
        calls = await self.repo.live()
        return calls[-1]

    async def in_call(self, during: str = "beside",
                      after: str = "conclusion") -> tuple[Call, Page, Page]:
        """A customer and an agent in a connected call."""
        call, customer = await self.customer()
        agent = await self.agent()
        refused = await agent.send({"type": "call.accept", "call_id": call.id, "during": during,
                                    "after": after})
        if refused:
            raise RuntimeError(f"the agent could not accept: {refused}")
        for page in (customer, agent):
            await page.send({"type": "link.state", "call_id": call.id, "link": "call",
                             "state": "connected"})
        return call, customer, agent

    def timeline(self, call_id: str) -> list[str]:
        return self.records.names(call_id)
