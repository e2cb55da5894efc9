"""The call service: the queue, the calls in this process, and who is told what.

It owns every call's state changes (through the pure state machine), relays the call link's
signaling between the two browsers, and directs the avatar (which session, which view, what it
says) through the ``AvatarService`` seam. It never touches media.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from avatarcall.avatar.phrases import phrase
from avatarcall.avatar.service import AvatarEvent, AvatarLinkState, AvatarService
from avatarcall.avatar.session import AvatarSession
from avatarcall.calls.models import Call, Participant, Role
from avatarcall.calls.plan import (
    AfterMode,
    AvatarPlan,
    AvatarView,
    agent_view,
    agent_voice,
    customer_view,
)
from avatarcall.calls.scorecard import Scorecard
from avatarcall.calls.state import CallEvent, CallState, is_active
from avatarcall.calls.telemetry import TelemetrySink
from avatarcall.errors import (
    AvatarBusy,
    AvatarUnavailable,
    CallEnded,
    CallTaken,
    NotAllowed,
    UnknownCall,
)
from avatarcall.ice.provider import IceProvider
from avatarcall.ice.servers import IceConfig
from avatarcall.metrics import Metrics
from avatarcall.signaling import messages as m
from avatarcall.store import CallStore

log = logging.getLogger(__name__)

AUTO_RESTARTS = 3  # per call, after crashes; then the agent's restart button is the way


class Peer(Protocol):
    """One signaling connection (a browser tab), as the service sees it."""

    role: Role
    name: str
    call_id: str | None

    def send(self, message: m.ServerMessage) -> None: ...

    def close(self) -> None: ...


class CallService:
    def __init__(self, store: CallStore, avatars: AvatarService, *, waiting_grace: float = 20.0,
                 after_call: float = 120.0, restart_delay: float = 1.0,
                 ice: IceProvider | None = None,
                 relay_only: bool = False,
                 mint_resume: Callable[[str, str], str] | None = None,
                 metrics: Metrics | None = None) -> None:
        self.store = store
        self.avatars = avatars
        self.waiting_grace = waiting_grace
        self.after_call = after_call
        self.restart_delay = restart_delay
        self.calls: dict[str, Call] = {}
        self._peers: dict[str, dict[Role, Peer]] = {}
        self._lobby: set[Peer] = set()
        self._timers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._restarts: dict[str, int] = {}
        # Calls whose avatar waits for a free session (max_avatar_sessions), oldest first.
        self._avatar_line: list[str] = []
        self._views: dict[tuple[str, Role], tuple[AvatarView, int, str]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._invites = asyncio.Lock()
        self.ice = ice or IceProvider(IceConfig())
        self._relay_only = relay_only
        self._mint_resume = mint_resume
        self.metrics = metrics or Metrics()
        self.scorecard = Scorecard(self._outcome)
        self.telemetry = TelemetrySink(store, self.metrics, self.scorecard)
        self.metrics.watch(
            live=lambda: sum(1 for c in self.calls.values() if is_active(c.state)),
            waiting=self.waiting_count,
            sessions=lambda: len(self.avatars.sessions()),
            viewers=lambda: self.avatars.viewer_total(),
        )

    # --- lifecycle ------------------------------------------------------------------

    async def restore(self) -> int:
        """Load unfinished calls from the store (after a restart); return how many."""
        for call in await self.store.unfinished_calls():
            self.calls[call.id] = call
            await self._start_avatar(call)
            # Nobody is connected yet: the pages have this long to come back.
            self._later(call.id, "grace", self.waiting_grace, lambda cid=call.id: self._abandon(cid))
            if call.agent is not None:
                self._later(call.id, "agent-grace", self.waiting_grace,
                            lambda cid=call.id: self._agent_gone(cid))
        return len(self.calls)

    async def close(self) -> None:
        timers = [*self._timers.values(), *self._background]
        for task in timers:
            task.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        self._timers.clear()

    def _later(self, call_id: str, name: str, delay: float,
               action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` after ``delay`` unless cancelled; one timer per (call, name)."""
        self._cancel_timer(call_id, name)

        async def run() -> None:
            await asyncio.sleep(delay)
            self._timers.pop((call_id, name), None)
            try:
                await action()
            except Exception:
                log.exception("timer %s failed call=%s", name, call_id)

        self._timers[(call_id, name)] = asyncio.get_running_loop().create_task(run())

    def _spawn(self, coro: Awaitable[None]) -> None:
        """Run ``coro`` as a task this service owns (awaited on close)."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _cancel_timer(self, call_id: str, name: str) -> None:
        task = self._timers.pop((call_id, name), None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # --- calls ----------------------------------------------------------------------

    def waiting_count(self) -> int:
        return sum(1 for c in self.calls.values() if c.state is CallState.WAITING)

    async def create_call(self, language: str, customer_name: str, call_id: str | None = None) -> Call:
        call = Call.new(language, customer_name, call_id)
        self.calls[call.id] = call
        await self.store.save_call(call)
        await self.store.add_event(call.id, "state", {"state": call.state.value})
        session = await self._start_avatar(call)
        if session is not None:
            session.say(phrase("greeting", language), when_watched=True)
        self._later(call.id, "grace", self.waiting_grace, lambda: self._abandon(call.id))
        log.info("call created call=%s language=%s", call.id, language)
        self._broadcast_queue()
        return call

    async def open_invite(self, call_id: str, customer_name: str, language: str) -> Call:
        """The call an invitation link names (integration API), made on the link's first use; a
        link whose call has ended does not open a new one."""
        async with self._invites:
            call = self.calls.get(call_id)
            if call is not None:
                return call
            stored = await self.store.load_call(call_id)
            if stored is not None:
                if stored.state is CallState.ENDED:
                    raise CallEnded("This call has ended.")
                raise UnknownCall(f"There is no call {call_id}.")
            return await self.create_call(language, customer_name, call_id)

    def get(self, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            raise UnknownCall(f"There is no call {call_id}.")
        return call

    def queue(self) -> list[m.QueueItem]:
        waiting = sorted((c for c in self.calls.values() if c.state is CallState.WAITING),
                         key=lambda c: c.created_at)
        return [
            m.QueueItem(call_id=c.id, customer=c.customer.name if c.customer else "",
                        language=c.language, waiting_since=c.created_at)
            for c in waiting
        ]

    def snapshot(self, call: Call, role: Role) -> m.CallSnapshot:
        return m.CallSnapshot(
            call_id=call.id, state=call.state, role=role.value, language=call.language,
            during=call.plan.during, after=call.plan.after,
            agent=call.agent.name if call.agent else None,
            customer=call.customer.name if call.customer else None,
        )

    async def _change(self, call: Call, event: CallEvent, reason: str | None = None) -> None:
        if not call.take(event):
            return
        if reason:
            call.end_reason = reason
        log.info("call state call=%s state=%s event=%s", call.id, call.state.value, event.value)
        concludes = call.plan.after is AfterMode.CONCLUSION and Role.CUSTOMER in self._peers.get(call.id, {})
        self.scorecard.call_state(call.id, call.state, avatar_after=concludes)
        await self.store.save_call(call)
        await self.store.add_event(call.id, "state", {"state": call.state.value, "reason": reason})
        for peer in self._peers.get(call.id, {}).values():
            peer.send(m.CallStateChanged(call_id=call.id, state=call.state, reason=reason))

    # --- connections ----------------------------------------------------------------

    async def connect(self, peer: Peer) -> None:
        if peer.role is Role.CUSTOMER:
            call = self.get(peer.call_id or "")
            self._peers.setdefault(call.id, {})[Role.CUSTOMER] = peer
            self._cancel_timer(call.id, "grace")
            self._send_welcome(peer, call)
            if is_active(call.state):
                peer.send(self._started(call, Role.CUSTOMER))
        else:
            self._lobby.add(peer)
            call = self._resumable(peer)
            if call is None:
                peer.call_id = None
            else:  # the agent's tab is back (a cut, a reload, a server restart): it takes its call
                self._peers.setdefault(call.id, {})[Role.AGENT] = peer
                self._cancel_timer(call.id, "agent-grace")
                log.info("agent resumed call=%s agent=%s", call.id, peer.name)
            self._send_welcome(peer, call)
            peer.send(m.QueueUpdate(items=self.queue()))
            if call is not None:
                peer.send(self._started(call, Role.AGENT))
        if peer.call_id:
            self._views.pop((peer.call_id, peer.role), None)
            self._push_views(self.get(peer.call_id))

    def _resumable(self, peer: Peer) -> Call | None:
        """The active call an agent connection asks to resume (its ``call_id`` came from a resume
        token), if it is still that agent's."""
        call = self.calls.get(peer.call_id or "")
        if call is None or not is_active(call.state) or call.agent is None:
            return None
        return call if call.agent.name == peer.name else None

    def _started(self, call: Call, role: Role) -> m.CallStarted:
        resume = self._mint_resume(call.id, call.agent.name) if (
            role is Role.AGENT and self._mint_resume and call.agent) else None
        return m.CallStarted(call=self.snapshot(call, role), polite=role is Role.CUSTOMER, resume=resume)

    def _send_welcome(self, peer: Peer, call: Call | None) -> None:
        call_ice, avatar_ice = self._ice_for(peer)
        peer.send(m.Welcome(role=peer.role.value, name=peer.name,
                            call=self.snapshot(call, peer.role) if call else None,
                            ice_servers_call=call_ice, ice_servers_avatar=avatar_ice,
                            ice_refresh_in=self.ice.refresh_in, relay_only=self._relay_only))

    def _ice_for(self, peer: Peer) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Fresh TURN credentials for this participant (identity: role and name)."""
        identity = f"{peer.role.value}-{peer.name}"[:64]
        return self.ice.for_page("call", identity), self.ice.for_page("avatar", identity)

    async def disconnect(self, peer: Peer) -> None:
        self._lobby.discard(peer)
        if peer.call_id is None:
            return
        call_id = peer.call_id
        peers = self._peers.get(call_id, {})
        if peers.get(peer.role) is peer:
            del peers[peer.role]
        call = self.calls.get(call_id)
        if call is None:
            return
        if peers.get(peer.role) is not None:
            return  # another tab of the same participant already took over
        if peer.role is Role.CUSTOMER:
            if call.state is CallState.ENDED:
                await self._stop_avatar(call_id)
            else:
                self._later(call_id, "grace", self.waiting_grace, lambda: self._abandon(call_id))
        elif is_active(call.state):
            self._later(call_id, "agent-grace", self.waiting_grace, lambda: self._agent_gone(call_id))

    async def _agent_gone(self, call_id: str) -> None:
        """The agent's page has been gone for the whole grace period: the call cannot go on."""
        call = self.calls.get(call_id)
        if call is None or Role.AGENT in self._peers.get(call_id, {}) or not is_active(call.state):
            return
        await self._end(call, "agent_left")

    def drop(self, call_id: str, role: Role) -> bool:
        """Close a participant's signaling connection, as a network cut would (drills, tests)."""
        peer = self._peers.get(call_id, {}).get(role)
        if peer is None:
            return False
        peer.close()
        return True

    async def _forget(self, call_id: str) -> None:
        """An ended call leaves memory (its record stays in the store)."""
        await self._stop_avatar(call_id)
        self.scorecard.forget(call_id)
        self.calls.pop(call_id, None)
        self._restarts.pop(call_id, None)
        for role in Role:
            self._views.pop((call_id, role), None)
        for peer in self._peers.pop(call_id, {}).values():
            peer.call_id = None if peer.role is Role.AGENT else peer.call_id

    async def _abandon(self, call_id: str) -> None:
        """The customer's page has been gone for the whole grace period."""
        call = self.calls.get(call_id)
        if call is None or Role.CUSTOMER in self._peers.get(call_id, {}) or call.state is CallState.ENDED:
            return
        await self._end(call, "customer_left")
        await self._stop_avatar(call_id)

    # --- messages -------------------------------------------------------------------

    async def handle(self, peer: Peer, msg: m.ClientMessage) -> None:
        if isinstance(msg, m.Ping):
            peer.send(m.Pong())
            return
        if isinstance(msg, m.RefreshIce):
            call_ice, avatar_ice = self._ice_for(peer)
            peer.send(m.IceServers(call=call_ice, avatar=avatar_ice, refresh_in=self.ice.refresh_in))
            return
        if isinstance(msg, m.AcceptCall):
            await self._accept(peer, msg)
            return
        if isinstance(msg, m.Telemetry):
            await self._telemetry(peer, msg)
            return
        call = self._own_call(peer, msg.call_id)
        match msg:
            case m.CallSignal():
                await self._relay(peer, call, msg)
            case m.RejoinCall():
                if not is_active(call.state):
                    raise NotAllowed("The call is not on.")
                await self._change(call, CallEvent.LINK_DOWN)
                other = self._peers.get(call.id, {}).get(
                    Role.AGENT if peer.role is Role.CUSTOMER else Role.CUSTOMER)
                if other is not None:
                    other.send(m.CallRejoined(call_id=call.id))
            case m.LinkState():
                await self._link_state(peer, call, msg)
            case m.AvatarOffer():
                await self._avatar_offer(peer, call, msg)
            case m.EndCall():
                if call.state is CallState.ENDED:
                    return
                await self._end(call, f"{peer.role.value}_hung_up")
            case m.SetAvatarPlan():
                self._agent_only(peer)
                call.plan = AvatarPlan(during=msg.during or call.plan.during,
                                       after=msg.after or call.plan.after)
                await self.store.save_call(call)
                await self.store.add_event(call.id, "avatar.plan", call.plan.model_dump(mode="json"))
                self._push_views(call)
            case m.AvatarSay():
                self._agent_only(peer)
                session = self.avatars.get(call.id)
                if session is None and call.id in self._avatar_line:
                    raise AvatarBusy("Every avatar is in use; this call gets one as soon as one "
                                     "is free.")
                if session is None:
                    raise AvatarUnavailable("The avatar is not running; restart it first.")
                session.say(msg.text)
                await self.store.add_event(call.id, "avatar.say", {"chars": len(msg.text)})
            case m.AvatarRestart():
                self._agent_only(peer)
                self._restarts.pop(call.id, None)
                await self._restart_avatar(call)

    async def _telemetry(self, peer: Peer, msg: m.Telemetry) -> None:
        """Store, log and count what a page saw; an agent may report on its call just after it ended."""
        call = self.get(msg.call_id)
        own = peer.call_id == call.id or (
            peer.role is Role.AGENT and call.agent is not None and call.agent.name == peer.name)
        if not own:
            raise NotAllowed("This is not your call.")
        await self.telemetry.record(peer.role, call.id, msg)

    def _outcome(self, call_id: str, scenario: str, outcome: str) -> None:
        log.info("outcome call=%s scenario=%s outcome=%s", call_id, scenario, outcome)
        self.metrics.sessions.labels(scenario=scenario, outcome=outcome).inc()
        self._spawn(self.store.add_event(call_id, "outcome", {"scenario": scenario, "outcome": outcome}))

    def _own_call(self, peer: Peer, call_id: str) -> Call:
        call = self.get(call_id)
        if peer.call_id != call_id:
            raise NotAllowed("This is not your call.")
        return call

    @staticmethod
    def _agent_only(peer: Peer) -> None:
        if peer.role is not Role.AGENT:
            raise NotAllowed("Only the agent can do this.")

    async def _accept(self, peer: Peer, msg: m.AcceptCall) -> None:
        self._agent_only(peer)
        call_id = msg.call_id
        call = self.get(call_id)
        if peer.call_id is not None and peer.call_id != call_id:
            raise NotAllowed("Finish your current call first.")
        if call.state is CallState.ENDED:
            raise CallEnded("This call has already ended.")
        if call.state is not CallState.WAITING or call.agent is not None:
            raise CallTaken("Another agent has already taken this call.")
        call.agent = Participant(Role.AGENT, peer.name)
        call.plan = AvatarPlan(during=msg.during or call.plan.during, after=msg.after or call.plan.after)
        peer.call_id = call.id
        self._peers.setdefault(call.id, {})[Role.AGENT] = peer
        self._cancel_timer(call.id, "grace")
        await self._change(call, CallEvent.AGENT_ACCEPTED)
        await self.store.save_call(call)
        for role, other in self._peers[call.id].items():
            other.send(self._started(call, role))
        self._broadcast_queue()
        self._push_views(call)

    async def _relay(self, peer: Peer, call: Call, msg: m.CallSignal) -> None:
        if not is_active(call.state):
            raise NotAllowed("The call is not on.")
        other = self._peers.get(call.id, {}).get(
            Role.AGENT if peer.role is Role.CUSTOMER else Role.CUSTOMER)
        if other is not None:
            other.send(m.CallSignalOut(call_id=call.id, description=msg.description,
                                       candidate=msg.candidate))

    async def _link_state(self, peer: Peer, call: Call, msg: m.LinkState) -> None:
        await self.store.add_event(call.id, f"{msg.link}.{msg.state}", {"role": peer.role.value})
        if msg.link != "call" or not is_active(call.state):
            return
        if msg.state == "connected":
            await self._change(call, CallEvent.LINK_UP)
        elif msg.state in ("disconnected", "failed"):
            await self._change(call, CallEvent.LINK_DOWN)

    async def _end(self, call: Call, reason: str) -> None:
        await self._change(call, CallEvent.HANG_UP, reason)
        agent = self._peers.get(call.id, {}).pop(Role.AGENT, None)
        if agent is not None:
            agent.call_id = None
            agent.send(m.QueueUpdate(items=self.queue()))
        await self.avatars.disconnect(call.id, Role.AGENT.value)
        if call.plan.after is AfterMode.CONCLUSION and Role.CUSTOMER in self._peers.get(call.id, {}):
            session = self.avatars.get(call.id) or await self._start_avatar(call)
            if session is not None:
                session.say(phrase("goodbye", call.language), when_watched=True)
        else:
            await self._stop_avatar(call.id)
        self._later(call.id, "after", self.after_call, lambda: self._forget(call.id))
        self._broadcast_queue()
        self._push_views(call)

    # --- avatar ---------------------------------------------------------------------

    async def _start_avatar(self, call: Call) -> AvatarSession | None:
        """Start the call's avatar session, or, with every session in use, put the call in line
        for one (its pages show the local animation meanwhile)."""
        try:
            session = await self.avatars.start(call.id, call.language)
        except AvatarBusy:
            if call.id not in self._avatar_line:
                self._avatar_line.append(call.id)
                log.warning("avatar busy call=%s: %d session(s) in use, %d call(s) in line",
                            call.id, self.avatars.max_sessions, len(self._avatar_line))
                self.metrics.errors.labels(source="server", code=AvatarBusy.code).inc()
            return None
        if call.id in self._avatar_line:
            self._avatar_line.remove(call.id)
        return session

    async def _stop_avatar(self, call_id: str) -> None:
        if call_id in self._avatar_line:
            self._avatar_line.remove(call_id)
        await self.avatars.stop(call_id)
        await self._serve_avatar_line()

    async def _serve_avatar_line(self) -> None:
        """A session is free: the calls in line get theirs, oldest first."""
        while self._avatar_line and self.avatars.has_room():
            call = self.calls.get(self._avatar_line[0])
            if call is None or call.state is CallState.ENDED:
                self._avatar_line.pop(0)
                continue
            session = await self._start_avatar(call)
            if session is None:
                return
            log.info("avatar free again call=%s", call.id)
            if call.state is CallState.WAITING:
                session.say(phrase("greeting", call.language), when_watched=True)
            self._push_views(call)

    def _push_views(self, call: Call) -> None:
        """Tell each page of the call what its avatar slot shows now (only when it changed)."""
        epoch = self.avatars.epoch(call.id)
        voice = "agent" if agent_voice(call.state, call.plan) else "tts"
        session = self.avatars.get(call.id)
        if session is not None and voice == "tts" and session.voice_attached:
            session.detach_voice()
        for role, peer in self._peers.get(call.id, {}).items():
            view = customer_view(call.state, call.plan) if role is Role.CUSTOMER \
                else agent_view(call.state, call.plan)
            busy = view is AvatarView.STREAM and call.id in self._avatar_line
            if busy:
                view = AvatarView.OVERLAY  # no session free yet: the local animation meanwhile
            if self._views.get((call.id, role)) == (view, epoch, voice):
                continue
            self._views[(call.id, role)] = (view, epoch, voice)
            peer.send(m.AvatarViewChanged(call_id=call.id, view=view, epoch=epoch, voice=voice,
                                          during=call.plan.during, after=call.plan.after))
            if busy and role is Role.AGENT:  # the agent is told why their preview is empty
                peer.send(m.AvatarFailed(
                    call_id=call.id, epoch=epoch, code=AvatarBusy.code, retryable=True,
                    message="Every avatar is in use: the customer sees a simple animation until "
                            "one is free, then this call gets it."))

    async def _avatar_offer(self, peer: Peer, call: Call, msg: m.AvatarOffer) -> None:
        voice = peer.role is Role.AGENT and agent_voice(call.state, call.plan)
        answer = await self.avatars.connect(call.id, msg.epoch, peer.role.value,
                                            peer.role is Role.CUSTOMER, msg.sdp, accept_voice=voice)
        peer.send(m.AvatarAnswer(call_id=call.id, epoch=msg.epoch, sdp=answer))

    async def _restart_avatar(self, call: Call) -> None:
        if call.state is CallState.ENDED and call.plan.after is AfterMode.OFF:
            return
        if await self._start_avatar(call) is not None:
            await self.store.add_event(call.id, "avatar.restarted",
                                       {"epoch": self.avatars.epoch(call.id)})
        self._push_views(call)

    def on_avatar_event(self, event: AvatarEvent) -> None:
        """From the AvatarService: a session failed, or a viewer's link changed state."""
        if isinstance(event, AvatarLinkState):
            self._spawn(self.store.add_event(
                event.call_id, f"avatar.server.{event.state}", {"viewer": event.viewer}))
            return
        call = self.calls.get(event.call_id)
        if call is None:
            return
        log.warning("avatar failed call=%s epoch=%s code=%s", call.id, event.epoch, event.error.code)
        for peer in self._peers.get(call.id, {}).values():
            peer.send(m.AvatarFailed(call_id=call.id, epoch=event.epoch, code=event.error.code,
                                     message=event.error.message, retryable=event.error.retryable))
        self._spawn(self.store.add_event(
            call.id, "avatar.error", {"code": event.error.code, "epoch": event.epoch}))
        self._spawn(self._serve_avatar_line())  # the failed session's place is free
        count = self._restarts.get(call.id, 0)
        if event.error.code == "avatar_crashed" and count < AUTO_RESTARTS:
            self._restarts[call.id] = count + 1
            self._later(call.id, "avatar-restart", self.restart_delay,
                        lambda: self._restart_avatar(call))

    # --- agents' lobby --------------------------------------------------------------

    def _broadcast_queue(self) -> None:
        update = m.QueueUpdate(items=self.queue())
        for peer in self._lobby:
            peer.send(update)
