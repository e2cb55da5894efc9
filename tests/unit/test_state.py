"""The call state machine and Call.take: every allowed move, and a loud error for the rest."""

from __future__ import annotations

import pytest

from avatarcall.calls import Call, CallEvent, CallState, apply, is_active
from avatarcall.calls.state import TRANSITIONS
from avatarcall.errors import IllegalTransition

S, E = CallState, CallEvent

ALLOWED = {
    (S.WAITING, E.AGENT_ACCEPTED): S.CONNECTING,
    (S.WAITING, E.HANG_UP): S.ENDED,
    (S.CONNECTING, E.LINK_UP): S.CONNECTED,
    (S.CONNECTING, E.LINK_DOWN): S.CONNECTING,
    (S.CONNECTING, E.HANG_UP): S.ENDED,
    (S.CONNECTED, E.LINK_UP): S.CONNECTED,
    (S.CONNECTED, E.LINK_DOWN): S.RECONNECTING,
    (S.CONNECTED, E.HANG_UP): S.ENDED,
    (S.RECONNECTING, E.LINK_UP): S.CONNECTED,
    (S.RECONNECTING, E.LINK_DOWN): S.RECONNECTING,
    (S.RECONNECTING, E.HANG_UP): S.ENDED,
}
ILLEGAL = [(s, e) for s in S for e in E if (s, e) not in ALLOWED]


def test_the_table_is_exactly_the_documented_moves() -> None:
    assert TRANSITIONS == ALLOWED


@pytest.mark.parametrize(("state", "event"), list(ALLOWED))
def test_allowed_transition(state: CallState, event: CallEvent) -> None:
    assert apply(state, event) is ALLOWED[(state, event)]


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_illegal_transition_raises(state: CallState, event: CallEvent) -> None:
    with pytest.raises(IllegalTransition) as info:
        apply(state, event)
    assert info.value.code == "illegal_transition"
    assert state.value in info.value.message and event.value in info.value.message


def test_an_ended_call_takes_nothing() -> None:
    assert {e for s, e in ILLEGAL if s is S.ENDED} == set(E)


@pytest.mark.parametrize(
    ("state", "active"),
    [(S.WAITING, False), (S.CONNECTING, True), (S.CONNECTED, True),
     (S.RECONNECTING, True), (S.ENDED, False)],
)
def test_is_active(state: CallState, active: bool) -> None:
    assert is_active(state) is active


def test_take_reports_whether_the_state_changed() -> None:
    call = Call.new("fr", "Zoé")
    assert call.take(E.AGENT_ACCEPTED) is True
    assert call.take(E.LINK_DOWN) is False  # still connecting
    assert call.state is S.CONNECTING
    assert call.take(E.LINK_UP) is True
    assert call.take(E.LINK_UP) is False
    assert call.state is S.CONNECTED
    assert call.ended_at is None


def test_take_hang_up_sets_ended_at_once() -> None:
    call = Call.new("en", "Sam")
    call.take(E.AGENT_ACCEPTED)
    assert call.ended_at is None
    assert call.take(E.HANG_UP) is True
    assert call.state is S.ENDED
    ended_at = call.ended_at
    assert ended_at is not None and ended_at >= call.created_at
    with pytest.raises(IllegalTransition):
        call.take(E.HANG_UP)
    assert call.state is S.ENDED and call.ended_at == ended_at


def test_take_illegal_event_leaves_the_call_unchanged() -> None:
    call = Call.new("fr", "Zoé")
    with pytest.raises(IllegalTransition):
        call.take(E.LINK_UP)
    assert call.state is S.WAITING and call.ended_at is None


def test_new_call_waits_with_its_customer() -> None:
    call = Call.new("fr", "Zoé")
    assert call.state is S.WAITING
    assert call.customer is not None and call.customer.name == "Zoé"
    assert call.agent is None
    assert call.id != Call.new("fr", "Zoé").id
