"""The call state machine: an Enum of states, a table of allowed moves, a pure function applying an event."""

from __future__ import annotations

from enum import StrEnum

from avatarcall.errors import IllegalTransition


class CallState(StrEnum):
    WAITING = "waiting"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


class CallEvent(StrEnum):
    AGENT_ACCEPTED = "agent_accepted"
    LINK_UP = "link_up"
    LINK_DOWN = "link_down"
    HANG_UP = "hang_up"


_S, _E = CallState, CallEvent

TRANSITIONS: dict[tuple[CallState, CallEvent], CallState] = {
    (_S.WAITING, _E.AGENT_ACCEPTED): _S.CONNECTING,
    (_S.CONNECTING, _E.LINK_UP): _S.CONNECTED,
    (_S.CONNECTING, _E.LINK_DOWN): _S.CONNECTING,
    (_S.CONNECTED, _E.LINK_UP): _S.CONNECTED,
    (_S.CONNECTED, _E.LINK_DOWN): _S.RECONNECTING,
    (_S.RECONNECTING, _E.LINK_UP): _S.CONNECTED,
    (_S.RECONNECTING, _E.LINK_DOWN): _S.RECONNECTING,
    (_S.WAITING, _E.HANG_UP): _S.ENDED,
    (_S.CONNECTING, _E.HANG_UP): _S.ENDED,
    (_S.CONNECTED, _E.HANG_UP): _S.ENDED,
    (_S.RECONNECTING, _E.HANG_UP): _S.ENDED,
}


def apply(state: CallState, event: CallEvent) -> CallState:
    """Return the state after ``event``; raise :class:`IllegalTransition` if the move is not allowed."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(f"a call that is {state.value} cannot take {event.value}") from None


def is_active(state: CallState) -> bool:
    """True while the customer and the agent are (or are becoming) connected."""
    return state in (CallState.CONNECTING, CallState.CONNECTED, CallState.RECONNECTING)
