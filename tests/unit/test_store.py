"""CallStore on a real SQLite file: calls, participants and event timelines persist."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from avatarcall.calls import AfterMode, AvatarPlan, Call, CallEvent, CallState, DuringMode
from avatarcall.calls.models import Participant, Role
from avatarcall.store import CallStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CallStore]:
    s = CallStore(tmp_path / "db" / "calls.sqlite")
    await s.open()
    yield s
    await s.close()


def connected_call() -> Call:
    call = Call.new("fr", "Zoé", now=time.time())
    call = replace(call, plan=AvatarPlan(during=DuringMode.OVERLAY, after=AfterMode.OFF),
                   agent=Participant(Role.AGENT, "alice", joined_at=call.created_at + 5))
    return call.moved(CallEvent.AGENT_ACCEPTED, now=call.created_at + 5).moved(
        CallEvent.LINK_UP, now=call.created_at + 6)


async def test_save_and_load_a_call_with_participants(store: CallStore) -> None:
    call = connected_call()
    await store.save_call(call)
    assert await store.load_call(call.id) == call


async def test_load_unknown_call(store: CallStore) -> None:
    assert await store.load_call("nope") is None


async def test_saving_again_updates_state_and_end(store: CallStore) -> None:
    call = connected_call()
    await store.save_call(call)
    call = call.moved(CallEvent.HANG_UP, now=time.time(), reason="customer_left")
    await store.save_call(call)
    loaded = await store.load_call(call.id)
    assert loaded is not None
    assert loaded.state is CallState.ENDED
    assert loaded.ended_at == call.ended_at and loaded.end_reason == "customer_left"


async def test_events_come_back_in_time_order_per_call(store: CallStore) -> None:
    await store.add_event("c1", "link_up", {"link": "call"}, at=20.0)
    await store.add_event("c1", "created", at=10.0)
    await store.add_event("c2", "created", at=15.0)
    await store.add_event("c1", "same_time_later", at=20.0)
    events = await store.events("c1")
    assert [(e.at, e.kind) for e in events] == [
        (10.0, "created"), (20.0, "link_up"), (20.0, "same_time_later"),
    ]
    assert events[0].detail == {} and events[1].detail == {"link": "call"}
    assert {e.call_id for e in events} == {"c1"}


async def test_unfinished_calls_excludes_ended(store: CallStore) -> None:
    waiting, live = Call.new("fr", "A", now=time.time()), connected_call()
    ended = connected_call().moved(CallEvent.HANG_UP, now=time.time())
    for call in (waiting, live, ended):
        await store.save_call(call)
    assert {c.id for c in await store.unfinished_calls()} == {waiting.id, live.id}


async def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite"
    first = CallStore(path)
    await first.open()
    call = connected_call()
    await first.save_call(call)
    await first.add_event(call.id, "created", {"by": "customer"}, at=1.0)
    await first.close()
    await first.close()  # close may be called twice

    second = CallStore(path)
    await second.open()
    try:
        assert await second.load_call(call.id) == call
        assert [e.kind for e in await second.events(call.id)] == ["created"]
        assert [c.id for c in await second.unfinished_calls()] == [call.id]
    finally:
        await second.close()


async def test_an_unopened_store_refuses_work(tmp_path: Path) -> None:
    s = CallStore(tmp_path / "calls.sqlite")
    with pytest.raises(RuntimeError):
        await s.load_call("x")
