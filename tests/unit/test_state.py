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


def test_moved_returns_the_same_call_when_nothing_changes() -> None:
    call = Call.new("fr", "Zoé", now=100.0)
    connecting = call.moved(E.AGENT_ACCEPTED, now=101.0)
    assert connecting is not call and connecting.state is S.CONNECTING
    assert call.state is S.WAITING  # the old call is untouched
    assert connecting.moved(E.LINK_DOWN, now=102.0) is connecting  # still connecting
    connected = connecting.moved(E.LINK_UP, now=103.0)
    assert connected.state is S.CONNECTED
    assert connected.moved(E.LINK_UP, now=104.0) is connected
    assert connected.ended_at is None


def test_hang_up_sets_ended_at_and_reason_once() -> None:
    call = Call.new("en", "Sam", now=100.0).moved(E.AGENT_ACCEPTED, now=101.0)
    assert call.ended_at is None
    ended = call.moved(E.HANG_UP, now=150.0, reason="agent_hung_up")
    assert ended.state is S.ENDED
    assert (ended.ended_at, ended.end_reason) == (150.0, "agent_hung_up")
    with pytest.raises(IllegalTransition):
        ended.moved(E.HANG_UP, now=160.0)


def test_an_illegal_event_raises() -> None:
    call = Call.new("fr", "Zoé", now=100.0)
    with pytest.raises(IllegalTransition):
        call.moved(E.LINK_UP, now=101.0)
    assert call.state is S.WAITING and call.ended_at is None


def test_new_call_waits_with_its_customer() -> None:
    call = Call.new("fr", "Zoé", now=100.0)
    assert call.state is S.WAITING
    assert call.customer is not None and call.customer.name == "Zoé"
    assert call.customer.joined_at == call.created_at == 100.0
    assert call.agent is None
    assert call.id != Call.new("fr", "Zoé", now=100.0).id


def test_a_call_goes_through_plain_data_unchanged() -> None:
    from dataclasses import replace

    from avatarcall.calls import AfterMode, AvatarPlan, DuringMode, Participant, Role

    call = replace(Call.new("fr", "Zoé", now=100.0).moved(E.AGENT_ACCEPTED, now=101.0),
                   agent=Participant(Role.AGENT, "alice", 101.0), version=7,
                   plan=AvatarPlan(during=DuringMode.AS_AGENT, after=AfterMode.OFF))
    assert Call.from_dict(call.to_dict()) == call
