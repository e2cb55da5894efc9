"""What a participant is sent is numbered and kept: a page whose socket was cut gets, when it
comes back, what it missed and nothing twice; a new page only what follows (issue: several
nodes — "no lost or repeated offers"; the same in one process)."""

from __future__ import annotations

from avatarcall.calls import Role
from avatarcall.flow.bus import LOG_KEPT
from avatarcall.signaling import messages as m
from avatarcall.testing.flow import FlowHarness


def _candidate(call_id: str, n: int) -> dict[str, object]:
    return {"type": "call.signal", "call_id": call_id,
            "candidate": {"candidate": f"candidate:{n} 1 udp 1 127.0.0.1 9 typ host"}}


async def test_a_page_back_after_a_cut_gets_what_it_missed_once() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    assert await agent.send(_candidate(call.id, 1)) is None
    seen = customer.last(m.CallSignalOut).seq
    assert seen is not None
    await customer.leave()
    for n in (2, 3):  # sent while the customer's page is away
        assert await agent.send(_candidate(call.id, n)) is None
    back = await h.connect(Role.CUSTOMER, "Zoé", call.id, since=seen)
    assert back.last(m.Welcome).seq == seen
    missed = back.outlet.of(m.CallSignalOut)
    assert [s.candidate.candidate.split()[0] for s in missed] == ["candidate:2", "candidate:3"]
    assert [s.seq for s in missed] == [seen + 1, seen + 2]
    numbers = [msg.seq for msg in back.sent if msg.seq is not None and not isinstance(
        msg, m.Welcome)]
    assert numbers == sorted(set(numbers)) and min(numbers) > seen  # in order, none twice


async def test_a_new_page_gets_only_what_follows_and_a_number_it_cannot_have_seen_is_ignored(
        ) -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    assert await agent.send(_candidate(call.id, 1)) is None
    await customer.leave()
    fresh = await h.connect(Role.CUSTOMER, "Zoé", call.id)
    assert not fresh.outlet.of(m.CallSignalOut)
    await fresh.leave()
    last = max(msg.seq for msg in fresh.sent if msg.seq is not None)
    bogus = await h.connect(Role.CUSTOMER, "Zoé", call.id, since=last + 1000)
    assert bogus.last(m.Welcome).seq == last and not bogus.outlet.of(m.CallSignalOut)


async def test_the_log_is_bounded_and_goes_with_the_call() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    await customer.leave()
    for n in range(LOG_KEPT + 10):
        assert await agent.send(_candidate(call.id, n)) is None
    back = await h.connect(Role.CUSTOMER, "Zoé", call.id, since=0)
    assert len(back.outlet.of(m.CallSignalOut)) == LOG_KEPT  # the newest ones
    await agent.send({"type": "call.end", "call_id": call.id})
    await h.advance(3600)
    assert (call.id, Role.CUSTOMER) not in h.bus._logs  # forgotten with the call
