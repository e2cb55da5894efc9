"""The avatar director: which avatar each call has, what each of its pages shows, what it says.

It greets a waiting customer and says goodbye after the call, restarts a crashed avatar (a few
times, then the agent's restart button is the way), keeps calls in line when every avatar is in
use, and tells each page what its avatar slot shows (a stream of some epoch, the local
animation, nothing) and whose voice the avatar speaks with. It reaches avatars through
:class:`AvatarControl` only, in plain data: never a session object.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from avatarcall.avatar.control import (
    RESTART_AT_ONCE,
    AvatarControl,
    AvatarEvent,
    AvatarFailed,
    Fault,
    Heard,
    SlotFreed,
    ViewerLinkChanged,
)
from avatarcall.avatar.phrases import phrase
from avatarcall.calls.journal import AvatarFailedEntry, RestartedEntry, SayEntry, ServerLinkEntry
from avatarcall.calls.models import Call, Role
from avatarcall.calls.plan import AfterMode, AvatarView, agent_view, agent_voice, customer_view
from avatarcall.calls.state import CallState
from avatarcall.errors import AvatarBusy, AvatarUnavailable
from avatarcall.flow.ports import CallRepository, PeerBus, Scheduler, Timer
from avatarcall.flow.seats import AvatarSeats
from avatarcall.metrics import Metrics
from avatarcall.signaling import messages as m

log = logging.getLogger(__name__)

AUTO_RESTARTS = 3  # per call, after crashes; then the agent's restart button is the way
BUSY_MESSAGE = ("Every avatar is in use: the customer sees a simple animation until one is "
                "free, then this call gets it.")

Voice = Literal["tts", "agent"]
View = tuple[AvatarView, int, Voice]  # what a page was last told: view, epoch, voice


class AvatarDirector:
    def __init__(self, repo: CallRepository, bus: PeerBus, scheduler: Scheduler,
                 avatars: AvatarControl, metrics: Metrics, *, restart_delay: float = 1.0) -> None:
        self._repo = repo
        self._bus = bus
        self._scheduler = scheduler
        self._avatars = avatars
        self._metrics = metrics
        self._restart_delay = restart_delay
        self.seats = AvatarSeats(avatars)
        self._views: dict[tuple[str, Role], View] = {}
        self._restarts: dict[str, int] = {}
        # Captions of speech that waits for the customer's page (a greeting): sent when it joins.
        self._unheard: dict[str, str] = {}
        # What the customer said aloud to the assistant goes to the conversation (the flow's).
        self.on_heard: Callable[[Heard], Awaitable[None]] | None = None

    async def epoch(self, call_id: str) -> int | None:
        """The epoch of the call's running avatar (the avatars know; with several nodes, any
        of them may have started it)."""
        return await self._avatars.epoch(call_id)

    # --- the call's phases --------------------------------------------------------------

    async def open(self, call: Call, *, greet: bool) -> None:
        """A call is new (or back after a restart): its avatar, or a place in line."""
        if await self._take(call) is not None and greet:
            await self._speak(call, phrase("greeting", call.language), when_watched=True)

    async def _speak(self, call: Call, text: str, *, when_watched: bool = False,
                     language: str | None = None) -> None:
        """The avatar says ``text``; the customer's page shows it as captions."""
        await self._avatars.say(call.id, text, when_watched=when_watched, language=language)
        if when_watched and not await self._bus.present(call.id, Role.CUSTOMER):
            self._unheard[call.id] = text
            return
        await self._bus.send(call.id, Role.CUSTOMER, m.AvatarCaption(call_id=call.id, text=text))

    async def speak_to_customer(self, call: Call, text: str, *, caption: bool,
                                append: bool = False) -> None:
        """The assistant's words aloud when the customer sees and hears the avatar now; as
        captions too if ``caption`` (not when the page shows them otherwise)."""
        if (customer_view(call.state, call.plan) is AvatarView.STREAM
                and not agent_voice(call.state, call.plan)
                and await self.epoch(call.id) is not None):
            if caption:
                await self._speak(call, text, language=call.language)
            else:
                await self._avatars.say(call.id, text, language=call.language, append=append)

    async def interrupt(self, call_id: str) -> None:
        """The customer speaks: the avatar stops at once (voice and lips)."""
        await self._avatars.interrupt(call_id)

    async def page_joined(self, call: Call, role: Role) -> None:
        """A page of the call is (back) on: it is told what its slot shows, even if unchanged.
        An avatar that should be there and is not (it went with a node that died) starts again."""
        self._views.pop((call.id, role), None)
        unheard = self._unheard.pop(call.id, None) if role is Role.CUSTOMER else None
        if unheard is not None:
            await self._bus.send(call.id, role, m.AvatarCaption(call_id=call.id, text=unheard))
        try:
            if await self.missing(call):
                await self.restart(call, by_agent=False)
                return
            await self.show(call)
        except AvatarUnavailable as exc:  # the page is on all the same; its avatar follows
            log.warning("avatar not shown to a page back call=%s: %s", call.id, exc.code)

    async def missing(self, call: Call) -> bool:
        """Whether the call should have an avatar and has none (nor a place in line)."""
        wants = customer_view(call.state, call.plan) is AvatarView.STREAM
        return (wants and not self.seats.in_line(call.id)
                and await self.epoch(call.id) is None
                and not (call.state is CallState.ENDED and call.plan.after is AfterMode.OFF))

    async def ended(self, call: Call, customer_present: bool) -> None:
        """The call ended: the avatar concludes (the agent's preview follows it), or stops."""
        if call.plan.after is AfterMode.CONCLUSION and customer_present:
            epoch = await self.epoch(call.id)
            if epoch is None:
                epoch = await self._take(call)
            if epoch is not None:
                await self._speak(call, phrase("goodbye", call.language), when_watched=True)
        else:
            await self._avatars.drop_viewer(call.id, Role.AGENT.value)
            await self.release(call.id)
        await self.show(call)

    async def release(self, call_id: str) -> None:
        """The call needs no avatar any more (nobody is left to see it)."""
        await self.seats.release(call_id)

    async def forget(self, call_id: str) -> None:
        await self.release(call_id)
        self._restarts.pop(call_id, None)
        self._unheard.pop(call_id, None)
        for role in Role:
            self._views.pop((call_id, role), None)

    # --- what the agent asks -------------------------------------------------------------

    async def say(self, call: Call, text: str, language: str | None = None) -> None:
        if await self.epoch(call.id) is None:
            if self.seats.in_line(call.id):
                raise AvatarBusy("Every avatar is in use; this call gets one as soon as one is free.")
            raise AvatarUnavailable("The avatar is not running; restart it first.")
        await self._speak(call, text, language=language)
        await self._repo.add_event(call.id, SayEntry(chars=len(text)))

    async def restart(self, call: Call, *, by_agent: bool) -> None:
        if by_agent:
            self._restarts.pop(call.id, None)
        if call.state is CallState.ENDED and call.plan.after is AfterMode.OFF:
            return
        epoch = await self._take(call)
        if epoch is not None:
            await self._repo.add_event(call.id, RestartedEntry(epoch=epoch))
        await self.show(call)

    async def answer(self, call: Call, role: Role, epoch: int, sdp: str) -> str:
        try:
            return await self._avatars.answer(call.id, epoch, role.value, sdp,
                                              audience=role is Role.CUSTOMER)
        except AvatarUnavailable:
            if await self.missing(call):  # it went away unseen: a new one, the page follows
                await self.restart(call, by_agent=False)
            raise

    async def fault(self, call_id: str, kind: Fault) -> int:
        return await self._avatars.fault(call_id, kind)

    # --- what the pages show --------------------------------------------------------------

    async def show(self, call: Call) -> None:
        """Tell each page of the call what its avatar slot shows now (only when it changed)."""
        epoch = await self.epoch(call.id)
        voice: Voice = "agent" if agent_voice(call.state, call.plan) else "tts"
        if epoch is not None:
            try:
                await self._avatars.use_voice(call.id, Role.AGENT.value if voice == "agent"
                                              else None)
            except AvatarUnavailable as exc:  # its node died a moment ago: the pages still
                log.info("avatar voice not set call=%s: %s", call.id, exc.code)  # are told
        customer_present = await self._bus.present(call.id, Role.CUSTOMER)
        for role in Role:
            if not await self._bus.present(call.id, role):
                continue
            view = customer_view(call.state, call.plan) if role is Role.CUSTOMER \
                else agent_view(call.state, call.plan, customer_present)
            busy = view is AvatarView.STREAM and self.seats.in_line(call.id)
            if busy:
                view = AvatarView.OVERLAY  # no avatar free yet: the local animation meanwhile
            told = (view, epoch or 0, voice)
            if self._views.get((call.id, role)) == told:
                continue
            self._views[(call.id, role)] = told
            await self._bus.send(call.id, role, m.AvatarViewChanged(
                call_id=call.id, view=view, epoch=epoch or 0, voice=voice,
                during=call.plan.during, after=call.plan.after))
            if busy and role is Role.AGENT:  # the agent is told why their preview is empty
                await self._bus.send(call.id, role, m.AvatarFailed(
                    call_id=call.id, epoch=epoch or 0, code=AvatarBusy.code, retryable=True,
                    message=BUSY_MESSAGE))

    # --- what happens to avatars -----------------------------------------------------------

    async def on_event(self, event: AvatarEvent) -> None:
        match event:
            case SlotFreed():
                await self._serve_line()
            case Heard():
                if self.on_heard is not None:
                    await self.on_heard(event)
            case ViewerLinkChanged(key=key, viewer=viewer, state=state):
                if await self._repo.get(key) is not None:
                    await self._repo.add_event(key, ServerLinkEntry(viewer=viewer, state=state))
            case AvatarFailed():
                await self._failed(event)

    async def _failed(self, event: AvatarFailed) -> None:
        call = await self._repo.get(event.key)
        if call is None:
            return
        log.warning("avatar failed call=%s epoch=%s code=%s", call.id, event.epoch, event.code)
        await self._repo.add_event(call.id, AvatarFailedEntry(code=event.code, epoch=event.epoch))
        if event.code in RESTART_AT_ONCE:
            # Not the avatar's fault (its worker went away or drains): a new one now, and the
            # pages just follow the new epoch (they show "reconnecting" meanwhile).
            await self.restart(call, by_agent=False)
            return
        for role in Role:
            await self._bus.send(call.id, role, m.AvatarFailed(
                call_id=call.id, epoch=event.epoch, code=event.code, message=event.message,
                retryable=event.retryable))
        count = self._restarts.get(call.id, 0)
        if event.code == "avatar_crashed" and count < AUTO_RESTARTS:
            self._restarts[call.id] = count + 1
            await self._scheduler.at(call.id, Timer.AVATAR_RESTART, self._restart_delay)

    async def _serve_line(self) -> None:
        """An avatar is free: the calls in line get theirs, oldest first."""
        for call_id in self.seats.line():
            call = await self._repo.get(call_id)
            if call is None or call.state is CallState.ENDED:
                self.seats.leave_line(call_id)
                continue
            if await self.epoch(call.id) is not None:  # another node's line served it
                self.seats.leave_line(call_id)
                await self.show(call)
                continue
            epoch = await self._take(call)
            if epoch is None:
                return
            log.info("avatar free again call=%s", call.id)
            if call.state is CallState.WAITING:
                await self._speak(call, phrase("greeting", call.language), when_watched=True)
            await self.show(call)

    async def _take(self, call: Call) -> int | None:
        queued = self.seats.in_line(call.id)
        epoch = await self.seats.take(call.id, call.language, wait=True)
        if epoch is None and not queued:
            self._metrics.errors.labels(source="server", code=AvatarBusy.code).inc()
        return epoch
