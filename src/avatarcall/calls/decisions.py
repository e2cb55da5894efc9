"""What happens to a call when someone acts: pure functions from a call (and the request) to
the new call and the changes it caused. No I/O, no clock of their own (``now`` is given), no
knowledge of pages, sockets or avatars: the flow carries the changes out.

Each function raises a precise :class:`~avatarcall.errors.AvatarCallError` when the request is
not allowed; it never half-applies one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from avatarcall.calls.models import Call, Participant, Role
from avatarcall.calls.plan import AfterMode, AvatarPlan, DuringMode
from avatarcall.calls.state import CallEvent, CallState, is_active
from avatarcall.errors import CallEnded, CallTaken, NotAllowed, UnknownCall


@dataclass(frozen=True)
class StateChanged:
    state: CallState
    reason: str | None = None


@dataclass(frozen=True)
class AgentJoined:
    agent: str


@dataclass(frozen=True)
class PlanChanged:
    plan: AvatarPlan


@dataclass(frozen=True)
class Rejoined:
    """``by``'s page is new to the call (a reload): the other side must open a new call link."""

    by: Role


Change = StateChanged | AgentJoined | PlanChanged | Rejoined


@dataclass(frozen=True)
class Decision:
    call: Call
    changes: tuple[Change, ...] = ()


def _moved(call: Call, event: CallEvent, now: float, reason: str | None = None) -> Decision:
    after = call.moved(event, now, reason)
    if after is call:
        return Decision(call)
    return Decision(after, (StateChanged(after.state, reason),))


def require(call: Call | None, call_id: str) -> Call:
    if call is None:
        raise UnknownCall(f"There is no call {call_id}.")
    return call


def own(call: Call, bound_call: str | None) -> Call:
    """The call a page acts on must be the one it is in."""
    if bound_call != call.id:
        raise NotAllowed("This is not your call.")
    return call


def agent_only(role: Role) -> None:
    if role is not Role.AGENT:
        raise NotAllowed("Only the agent can do this.")


def accept(call: Call, agent: str, *, agent_in: str | None, now: float,
           during: DuringMode | None = None, after: AfterMode | None = None) -> Decision:
    """An agent (who is in call ``agent_in``, or none) takes a waiting customer."""
    if agent_in is not None and agent_in != call.id:
        raise NotAllowed("Finish your current call first.")
    if call.state is CallState.ENDED:
        raise CallEnded("This call has already ended.")
    if call.state is not CallState.WAITING or call.agent is not None:
        raise CallTaken("Another agent has already taken this call.")
    taken = replace(call, agent=Participant(Role.AGENT, agent, now),
                    plan=AvatarPlan(during=during or call.plan.during, after=after or call.plan.after))
    moved = _moved(taken, CallEvent.AGENT_ACCEPTED, now)
    return Decision(moved.call, (AgentJoined(agent), *moved.changes))


def change_plan(call: Call, role: Role, during: DuringMode | None,
                after: AfterMode | None) -> Decision:
    agent_only(role)
    plan = AvatarPlan(during=during or call.plan.during, after=after or call.plan.after)
    return Decision(replace(call, plan=plan), (PlanChanged(plan),))


def end(call: Call, reason: str, now: float) -> Decision:
    """Hang up (either side), or end a call whose participant is gone; an ended call stays so."""
    if call.state is CallState.ENDED:
        return Decision(call)
    return _moved(call, CallEvent.HANG_UP, now, reason)


def link_reported(call: Call, link: str, state: str, now: float) -> Decision:
    """A page's call link changed state (``RTCPeerConnection.connectionState``)."""
    if link != "call" or not is_active(call.state):
        return Decision(call)
    if state == "connected":
        return _moved(call, CallEvent.LINK_UP, now)
    if state in ("disconnected", "failed"):
        return _moved(call, CallEvent.LINK_DOWN, now)
    return Decision(call)


def rejoin(call: Call, by: Role, now: float) -> Decision:
    """``by``'s page is new to a call that is on: the link is down until both open a new one."""
    if not is_active(call.state):
        raise NotAllowed("The call is not on.")
    moved = _moved(call, CallEvent.LINK_DOWN, now)
    return Decision(moved.call, (*moved.changes, Rejoined(by)))


def relay_to(call: Call, sender: Role) -> Role:
    """Whom a call link signal goes to; only while the call is on."""
    if not is_active(call.state):
        raise NotAllowed("The call is not on.")
    return sender.other


def resumable(call: Call | None, agent: str) -> bool:
    """Whether an agent's new tab (a cut, a reload, a server restart) takes this call back."""
    return (call is not None and is_active(call.state) and call.agent is not None
            and call.agent.name == agent)


def may_report(call: Call, role: Role, name: str, bound_call: str | None) -> bool:
    """Telemetry: a page reports on its own call; an agent also just after it ended."""
    return bound_call == call.id or (
        role is Role.AGENT and call.agent is not None and call.agent.name == name)


def may_watch_goodbye(call: Call, role: Role, name: str, bound_call: str | None) -> bool:
    """The agent's page that was in the call follows the avatar's goodbye after it, until
    it takes another call."""
    return (call.state is CallState.ENDED and call.plan.after is AfterMode.CONCLUSION
            and bound_call is None and role is Role.AGENT
            and call.agent is not None and call.agent.name == name)


def concludes(call: Call, customer_present: bool) -> bool:
    """Whether the avatar says goodbye to the customer after the call."""
    return call.plan.after is AfterMode.CONCLUSION and customer_present
