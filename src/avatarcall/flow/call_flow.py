"""The call flow: what the server does when a page connects, sends a message or goes away, and
when a call's timer fires.

It reads a call from the repository, lets the pure domain decide (``calls.decisions``), writes
the result with compare-and-set (deciding again on a newer call if someone else wrote first),
then carries the changes out: the timeline, the pages (through the peer bus), the timers, and
the avatar (through the director). It holds no call state of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from avatarcall.assistant import Assistant, load_faqs
from avatarcall.avatar.control import AvatarControl
from avatarcall.calls import decisions
from avatarcall.calls.decisions import AgentJoined, Decision, PlanChanged, Rejoined, StateChanged
from avatarcall.calls.journal import (
    OutcomeEntry,
    PageLinkEntry,
    PlanEntry,
    RatingEntry,
    StateEntry,
)
from avatarcall.calls.models import Call, Role
from avatarcall.calls.scorecard import Scorecard
from avatarcall.calls.state import CallState, is_active
from avatarcall.errors import (
    CallEnded,
    CustomerAway,
    NotAllowed,
    UnknownCall,
    VersionConflict,
    known_code,
)
from avatarcall.flow import projection
from avatarcall.flow.conversation import Conversations
from avatarcall.flow.director import AvatarDirector
from avatarcall.flow.ports import CallRepository, Fired, PeerBus, Scheduler, Tab, Timer
from avatarcall.flow.queue import QueueTeller
from avatarcall.flow.telemetry import TelemetrySink
from avatarcall.ice.provider import IceProvider
from avatarcall.metrics import Metrics
from avatarcall.signaling import messages as m

log = logging.getLogger(__name__)

WRITE_ATTEMPTS = 8  # decisions taken again after a concurrent write, before giving up


class CallFlow:
    def __init__(self, repo: CallRepository, bus: PeerBus, scheduler: Scheduler,
                 avatars: AvatarControl, ice: IceProvider, metrics: Metrics, *,
                 waiting_grace: float = 20.0, after_call: float = 120.0,
                 restart_delay: float = 1.0, relay_only: bool = False,
                 mint_resume: Callable[[str, str], str] | None = None,
                 clock: Callable[[], float] = time.time, queue_every: float = 0.0,
                 assistant: m.AssistantInfo | None = None, answers: Assistant | None = None) -> None:
        self.repo = repo
        self.bus = bus
        self.scheduler = scheduler
        self.avatars = avatars
        self.ice = ice
        self.metrics = metrics
        self.waiting_grace = waiting_grace
        self.after_call = after_call
        self._relay_only = relay_only
        self._mint_resume = mint_resume
        self._clock = clock
        self.director = AvatarDirector(repo, bus, scheduler, avatars, metrics,
                                       restart_delay=restart_delay)
        self.scorecard = Scorecard(self._outcome)
        self.telemetry = TelemetrySink(repo, metrics, self.scorecard)
        self._tasks: set[asyncio.Task[None]] = set()
        self.counts = (0, 0)  # (calls on, waiting) as last counted: what /healthz shows
        self._assistant = assistant
        self.queue = QueueTeller(repo, bus, self._own, every=queue_every, clock=clock)
        self.conversations = Conversations(answers or Assistant(load_faqs()), repo, bus,
                                           self.queue, self.director, clock)
        self.director.on_heard = self.conversations.heard
        metrics.watch(sessions=lambda: avatars.load().sessions,
                      viewers=lambda: avatars.load().viewers)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Listen to the avatars' events and the timers (until :meth:`close`)."""
        self._own(self._pump_avatar_events())
        self._own(self._pump_timers())

    async def _pump_avatar_events(self) -> None:
        async for event in self.avatars.events():
            try:
                await self.director.on_event(event)
            except Exception:
                log.exception("avatar event failed: %s", event)

    async def _pump_timers(self) -> None:
        async for fired in self.scheduler.fired():
            self._own(self.on_timer(fired))  # a slow one never holds the others back

    def _own(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        await self.scheduler.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def restore(self) -> int:
        """Take back unfinished calls from the records (after a restart); how many."""
        calls = await self.repo.unfinished()
        for call in calls:
            # With several nodes, another one may be serving it: only what is missing is done.
            if await self.director.missing(call):
                await self.director.open(call, greet=False)
            # Nobody is connected yet: the pages have this long to come back.
            if not await self.bus.present(call.id, Role.CUSTOMER):
                await self.scheduler.at(call.id, Timer.GRACE, self.waiting_grace)
            if call.agent is not None and not await self.bus.present(call.id, Role.AGENT):
                await self.scheduler.at(call.id, Timer.AGENT_GRACE, self.waiting_grace)
        await self._count()
        return len(calls)

    # --- calls --------------------------------------------------------------------------

    async def create_call(self, language: str, customer_name: str,
                          call_id: str | None = None, topic: str | None = None) -> Call:
        call = Call.new(language, customer_name, self._clock(), call_id, topic)
        if not await self.repo.insert(call):
            raise CallEnded("This call exists already.") if call_id else VersionConflict(
                "A call with this id exists already.")
        await self.repo.add_event(call.id, StateEntry(call.state))
        await self.director.open(call, greet=True)
        await self.scheduler.at(call.id, Timer.GRACE, self.waiting_grace)
        log.info("call created call=%s language=%s", call.id, language)
        await self.queue.changed()
        await self._count()
        return call

    async def open_invite(self, call_id: str, customer_name: str, language: str,
                          topic: str | None = None) -> Call:
        """The call an invitation link names (integration API), made on the link's first use;
        a link whose call has ended does not open a new one."""
        for _ in range(2):
            call = await self.repo.get(call_id)
            if call is not None:
                return call
            stored = await self.repo.record(call_id)
            if stored is not None:
                if stored.state is CallState.ENDED:
                    raise CallEnded("This call has ended.")
                raise UnknownCall(f"There is no call {call_id}.")
            try:
                return await self.create_call(language, customer_name, call_id, topic)
            except CallEnded:
                continue  # another request made it a moment ago: that one is ours too
        raise UnknownCall(f"There is no call {call_id}.")

    async def get(self, call_id: str) -> Call:
        return decisions.require(await self.repo.get(call_id), call_id)

    async def waiting_count(self) -> int:
        return (await self.repo.counts())[1]

    async def _decide(self, call_id: str, decide: Callable[[Call], Decision]) -> Decision:
        """Decide on the newest call, write it, carry the changes out."""
        decision = await self._write(call_id, decide)
        await self._carry_out(decision)
        return decision

    async def _write(self, call_id: str, decide: Callable[[Call], Decision]) -> Decision:
        """Decide on the newest call and write the result (compare-and-set); if someone wrote
        first, decide again on what they wrote."""
        for _ in range(WRITE_ATTEMPTS):
            decision = decide(await self.get(call_id))
            if not decision.changes:
                return decision
            try:
                return Decision(await self.repo.put(decision.call), decision.changes)
            except VersionConflict:
                continue
        raise VersionConflict(f"call {call_id} keeps changing; try again")

    async def _carry_out(self, decision: Decision) -> None:
        call = decision.call
        if not decision.changes:
            return
        for change in decision.changes:
            match change:
                case StateChanged(state=state, reason=reason):
                    log.info("call state call=%s state=%s reason=%s", call.id, state.value, reason)
                    concludes = decisions.concludes(call, await self.bus.present(call.id, Role.CUSTOMER))
                    self.scorecard.call_state(call.id, state, avatar_after=concludes)
                    await self.repo.add_event(call.id, StateEntry(state, reason))
                    for role in Role:
                        await self.bus.send(call.id, role, m.CallStateChanged(
                            call_id=call.id, state=state, reason=reason))
                case PlanChanged(plan=plan):
                    await self.repo.add_event(call.id, PlanEntry(plan))
                case Rejoined(by=by):
                    await self.bus.send(call.id, by.other, m.CallRejoined(call_id=call.id))
                case AgentJoined():
                    pass  # the agent's tab is bound by _accept, which knows which it is
        await self._count()

    # --- pages --------------------------------------------------------------------------

    async def connect(self, tab: Tab, call_id: str | None, since: int | None = None) -> None:
        """A tab is on: a customer's in its call; an agent's in the lobby, or back in the call
        its resume token names (a cut, a reload, a server restart) if it is still theirs; sent
        what it missed past ``since`` (the last number it saw of the call), once."""
        call: Call | None
        seq: int | None = None
        if tab.role is Role.CUSTOMER:
            call = await self.get(call_id or "")
            seq = await self.bus.bind(tab.id, call.id, Role.CUSTOMER, since)
            await self.scheduler.cancel(call.id, Timer.GRACE)
        else:
            call = await self.repo.get(call_id) if call_id else None
            if call is None or not decisions.resumable(call, tab.name):
                call = None
            else:
                seq = await self.bus.bind(tab.id, call.id, Role.AGENT, since)
                await self.scheduler.cancel(call.id, Timer.AGENT_GRACE)
                log.info("agent resumed call=%s agent=%s", call.id, tab.name)
        await self._welcome(tab, call, seq)
        if tab.role is Role.AGENT:
            await self.bus.send_tab(tab.id, await self.queue.listing())
            await self.queue.changed()  # one more agent online: the waiting customers hear it
        elif call is not None and call.state is CallState.WAITING:
            self.queue.forget(call.id)  # a new tab of the customer: its place, again
            await self.queue.changed()
        if call is not None:
            if is_active(call.state):
                await self.bus.send_tab(tab.id, self._started(call, tab.role))
            await self.bus.catch_up(tab.id, call.id, tab.role)
            await self.director.page_joined(call, tab.role)
            await self.conversations.page_joined(call, tab.role)

    async def disconnect(self, tab: Tab) -> None:
        """A tab's socket closed: its participant has the grace period to come back."""
        if tab.role is Role.AGENT:
            await self.queue.changed()  # maybe the last agent: the waiting customers hear it
        call_id = await self.bus.call_of(tab.id)
        if call_id is None or await self.bus.holder(call_id, tab.role) != tab.id:
            return  # in no call, or another tab of the same participant took over
        await self.bus.unbind(call_id, tab.role, tab.id)
        call = await self.repo.get(call_id)
        if call is None:
            return
        if tab.role is Role.CUSTOMER:
            if call.state is CallState.ENDED:
                await self.director.release(call_id)  # nobody is left to conclude to
            else:
                await self.scheduler.at(call_id, Timer.GRACE, self.waiting_grace)
                if call.state is CallState.WAITING:
                    await self.queue.changed()  # the agents see that the page closed
        elif is_active(call.state):
            await self.scheduler.at(call_id, Timer.AGENT_GRACE, self.waiting_grace)

    async def drop(self, call_id: str, role: Role) -> bool:
        """Close a participant's signaling connection, as a network cut would (drills, tests)."""
        await self.get(call_id)
        return await self.bus.drop(call_id, role)

    async def _welcome(self, tab: Tab, call: Call | None, seq: int | None) -> None:
        call_ice, avatar_ice = self._ice_for(tab)
        await self.bus.send_tab(tab.id, m.Welcome(seq=seq,
            role=tab.role, name=tab.name, assistant=self._assistant,
            call=projection.snapshot(call, tab.role) if call else None,
            ice_servers_call=call_ice, ice_servers_avatar=avatar_ice,
            ice_refresh_in=self.ice.refresh_in, relay_only=self._relay_only))

    def _ice_for(self, tab: Tab) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Fresh TURN credentials for this tab; the identity is made of server-made ids only
        (never a name someone typed)."""
        identity = f"{tab.role.value}-{tab.id}"
        return self.ice.for_page("call", identity), self.ice.for_page("avatar", identity)

    def _started(self, call: Call, role: Role) -> m.CallStarted:
        resume = self._mint_resume(call.id, call.agent.name) if (
            role is Role.AGENT and self._mint_resume and call.agent) else None
        return m.CallStarted(call=projection.snapshot(call, role), polite=role is Role.CUSTOMER,
                             resume=resume)

    # --- messages -----------------------------------------------------------------------

    async def handle(self, tab: Tab, msg: m.ClientMessage) -> None:
        match msg:
            case m.Ping():
                await self.bus.send_tab(tab.id, m.Pong())
            case m.RefreshIce():
                call_ice, avatar_ice = self._ice_for(tab)
                await self.bus.send_tab(tab.id, m.IceServers(call=call_ice, avatar=avatar_ice,
                                                             refresh_in=self.ice.refresh_in))
            case m.AcceptCall():
                await self._accept(tab, msg)
            case m.Telemetry():
                call = await self.get(msg.call_id)
                if not decisions.may_report(call, tab.role, tab.name, await self.bus.call_of(tab.id)):
                    raise NotAllowed("This is not your call.")
                await self.telemetry.record(tab.role, call, msg, self._clock())
            case _:
                await self._in_call(tab, msg)

    async def _in_call(self, tab: Tab, msg: m.InCallMessage) -> None:
        call = await self.get(msg.call_id)
        bound = await self.bus.call_of(tab.id)
        if isinstance(msg, m.LinkState) and bound != call.id:
            # An agent's page reports its links winding down just after the call ended: kept
            # on the timeline, nothing else (and no error for it).
            if not decisions.may_report(call, tab.role, tab.name, bound):
                raise NotAllowed("This is not your call.")
            await self.repo.add_event(call.id, PageLinkEntry(tab.role, msg.link, msg.state))
            return
        if isinstance(msg, m.AvatarOffer) and decisions.may_watch_goodbye(
                call, tab.role, tab.name, bound):
            sdp = await self.director.answer(call, tab.role, msg.epoch, msg.sdp)
            await self.bus.send_tab(tab.id, m.AvatarAnswer(call_id=call.id, epoch=msg.epoch, sdp=sdp))
            return
        decisions.own(call, bound)
        now = self._clock()
        match msg:
            case m.CallSignal():
                to = decisions.relay_to(call, tab.role)
                await self.bus.send(call.id, to, m.CallSignalOut(
                    call_id=call.id, description=msg.description, candidate=msg.candidate,
                    restart=msg.restart, offer=msg.offer))
            case m.RejoinCall():
                await self._decide(call.id, lambda c: decisions.rejoin(c, tab.role, now))
            case m.LinkState():
                await self.repo.add_event(call.id, PageLinkEntry(tab.role, msg.link, msg.state))
                await self._decide(call.id, lambda c: decisions.link_reported(
                    c, msg.link, msg.state, now))
            case m.AvatarOffer():
                sdp = await self.director.answer(call, tab.role, msg.epoch, msg.sdp)
                await self.bus.send_tab(tab.id, m.AvatarAnswer(call_id=call.id, epoch=msg.epoch,
                                                               sdp=sdp))
            case m.EndCall():
                await self._end(call.id, f"{tab.role.value}_hung_up")
            case m.SetAvatarPlan():
                decision = await self._decide(call.id, lambda c: decisions.change_plan(
                    c, tab.role, msg.during, msg.after))
                await self.director.show(decision.call)
            case m.AvatarSay():
                decisions.agent_only(tab.role)
                await self.director.say(call, msg.text, msg.language)
            case m.AvatarRestart():
                decisions.agent_only(tab.role)
                await self.director.restart(call, by_agent=True)
            case m.AskAssistant():
                await self.conversations.ask(call, tab.role, msg.text)
            case m.RateCall():
                if tab.role is not Role.CUSTOMER:
                    raise NotAllowed("Only the customer rates the call.")
                await self.repo.add_event(call.id, RatingEntry(stars=msg.stars))
                log.info("call rated call=%s stars=%d", call.id, msg.stars)

    async def _accept(self, tab: Tab, msg: m.AcceptCall) -> None:
        decisions.agent_only(tab.role)
        agent_in = await self.bus.call_of(tab.id)
        waiting = (await self.get(msg.call_id)).state is CallState.WAITING
        if waiting and agent_in is None and not await self.bus.present(msg.call_id, Role.CUSTOMER):
            # Said at once (not 30 s of "connecting"); the call stays in line for their return.
            raise CustomerAway("This customer's page is closed: they may come back in a moment. "
                               "Take another customer meanwhile.")
        now = self._clock()
        decision = await self._write(msg.call_id, lambda c: decisions.accept(
            c, tab.name, agent_in=agent_in, now=now, during=msg.during, after=msg.after))
        call = decision.call
        self.queue.accepted(now)
        await self.bus.bind(tab.id, call.id, Role.AGENT)  # first: the agent hears the changes too
        await self.scheduler.cancel(call.id, Timer.GRACE)
        await self._carry_out(decision)
        for role in Role:
            await self.bus.send(call.id, role, self._started(call, role))
        await self.queue.changed()
        await self.director.show(call)
        await self.conversations.handed_over(call)

    async def _end(self, call_id: str, reason: str) -> None:
        decision = await self._decide(call_id, lambda c: decisions.end(c, reason, self._clock()))
        if not decision.changes:
            return
        call = decision.call
        # The avatar first, while the agent's tab is still in the call: its preview is told
        # to follow the goodbye, or to go off (it does not linger, black and "reconnecting").
        await self.director.ended(call, await self.bus.present(call.id, Role.CUSTOMER))
        agent_tab = await self.bus.holder(call.id, Role.AGENT)
        await self.bus.unbind(call.id, Role.AGENT)
        if agent_tab is not None:  # back in the lobby
            await self.bus.send_tab(agent_tab, await self.queue.listing())
        await self.scheduler.at(call.id, Timer.AFTER, self.after_call)
        await self.queue.changed()

    # --- timers -------------------------------------------------------------------------

    async def on_timer(self, fired: Fired) -> None:
        try:
            call = await self.repo.get(fired.call_id)
            if call is None:
                return
            match fired.timer:
                case Timer.GRACE:  # the customer's page has been gone for the whole period
                    if call.state is not CallState.ENDED and not await self.bus.present(
                            call.id, Role.CUSTOMER):
                        await self._end(call.id, "customer_left")
                case Timer.AGENT_GRACE:  # the agent's page has: the call cannot go on
                    if is_active(call.state) and not await self.bus.present(call.id, Role.AGENT):
                        await self._end(call.id, "agent_left")
                case Timer.AFTER:
                    await self._forget(call.id)
                case Timer.AVATAR_RESTART:
                    await self.director.restart(call, by_agent=False)
        except Exception:
            log.exception("timer %s failed call=%s", fired.timer, fired.call_id)

    async def _forget(self, call_id: str) -> None:
        """An ended call leaves the working set (its record stays), with all its timers."""
        await self.scheduler.cancel_call(call_id)
        await self.director.forget(call_id)
        self.scorecard.forget(call_id)
        for role in Role:
            await self.bus.unbind(call_id, role)
        await self.bus.forget(call_id)
        await self.repo.forget(call_id)
        await self._count()

    # --- the lobby and the numbers ---------------------------------------------------------

    async def _count(self) -> None:
        active, waiting = self.counts = await self.repo.counts()
        self.metrics.calls(live=active, waiting=waiting)

    def _outcome(self, call_id: str, scenario: str, outcome: str) -> None:
        log.info("outcome call=%s scenario=%s outcome=%s", call_id, scenario, outcome)
        self.metrics.sessions.labels(
            scenario=scenario, outcome="success" if outcome == "success" else known_code(outcome)
        ).inc()
        self._own(self.repo.add_event(call_id, OutcomeEntry(scenario=scenario, outcome=outcome)))
