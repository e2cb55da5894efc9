"""The call flow in-process, on fakes: the scenarios of the browser tests (wait, accept, end,
abandon, resume, reload, restore, refusals) as the pages would be told them."""

from __future__ import annotations

import asyncio

from avatarcall.calls import CallState, Role
from avatarcall.flow.ports import Timer
from avatarcall.signaling import messages as m
from avatarcall.testing.flow import AFTER_CALL, WAITING_GRACE, FlowHarness


async def test_a_customer_waits_with_the_avatar_and_agents_see_the_queue() -> None:
    h = FlowHarness()
    lobby = await h.agent("bob")
    call, customer = await h.customer("Zoé", "fr")
    welcome = customer.last(m.Welcome)
    assert welcome.role is Role.CUSTOMER and welcome.call.state is CallState.WAITING
    view = customer.last(m.AvatarViewChanged)
    assert view.view == "stream" and view.epoch == h.avatars.current(call.id) and view.voice == "tts"
    assert h.avatars.said == [(call.id, ("Bonjour et bienvenue ! Un conseiller va vous répondre "
                               "dans un instant. Merci de patienter."), True)]
    assert [i.customer for i in lobby.last(m.QueueUpdate).items] == ["Zoé"]
    assert h.timeline(call.id) == ["state"]


async def test_an_agent_accepts_both_pages_start_and_the_queue_empties() -> None:
    h = FlowHarness()
    call, customer = await h.customer()
    agent, other = await h.agent("alice"), await h.agent("bob")
    assert await agent.send({"type": "call.accept", "call_id": call.id, "during": "beside"}) is None
    for page, polite in ((customer, True), (agent, False)):
        assert page.last(m.CallStateChanged).state is CallState.CONNECTING
        started = page.last(m.CallStarted)
        assert started.polite is polite and started.call.agent == "alice"
    assert agent.last(m.CallStarted).resume == f"resume:{call.id}"
    assert customer.last(m.CallStarted).resume is None
    assert other.last(m.QueueUpdate).items == []
    assert agent.last(m.AvatarViewChanged).view == "stream"  # the preview mirrors the customer
    await customer.send({"type": "link.state", "call_id": call.id, "link": "call",
                         "state": "connected"})
    assert (await h.call()).state is CallState.CONNECTED
    assert agent.last(m.CallStateChanged).state is CallState.CONNECTED


async def test_of_two_agents_accepting_at_once_exactly_one_wins() -> None:
    h = FlowHarness()
    call, _ = await h.customer()
    agents = [await h.agent(f"agent{i}") for i in range(5)]
    codes = await asyncio.gather(*(a.send({"type": "call.accept", "call_id": call.id})
                                   for a in agents))
    assert sorted(codes, key=str) == [None, *["call_taken"] * 4]
    winner = agents[codes.index(None)]
    assert (await h.call()).agent.name == winner.tab.name


async def test_signals_go_to_the_other_side_only_while_the_call_is_on() -> None:
    h = FlowHarness()
    call, customer = await h.customer()
    signal = {"type": "call.signal", "call_id": call.id,
              "candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"}}
    assert await customer.send(signal) == "not_allowed"  # nobody to talk to yet
    call, customer, agent = await h.in_call()
    signal["call_id"] = call.id
    assert await customer.send(signal) is None
    relayed = agent.last(m.CallSignalOut)
    assert relayed.call_id == call.id and relayed.candidate.candidate.startswith("candidate:1")
    assert not customer.outlet.of(m.CallSignalOut)


async def test_link_states_move_the_call_and_are_on_the_timeline() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    await agent.send({"type": "link.state", "call_id": call.id, "link": "call", "state": "failed"})
    assert (await h.call()).state is CallState.RECONNECTING
    assert customer.last(m.CallStateChanged).state is CallState.RECONNECTING
    await agent.send({"type": "link.state", "call_id": call.id, "link": "call",
                      "state": "connected"})
    assert (await h.call()).state is CallState.CONNECTED
    assert "call.link.failed" in h.timeline(call.id)
    assert h.timeline(call.id).count("state") == 5  # waiting, connecting, connected, recon., conn.


async def test_the_agent_hangs_up_the_avatar_concludes_then_everything_is_forgotten() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call(after="conclusion")
    await agent.send({"type": "call.end", "call_id": call.id})
    ended = await h.call()
    assert ended.state is CallState.ENDED and ended.end_reason == "agent_hung_up"
    assert customer.last(m.CallStateChanged).state is CallState.ENDED
    assert agent.last(m.CallStateChanged).state is CallState.ENDED
    assert isinstance(agent.sent[-1], m.QueueUpdate)  # back in the lobby
    assert await h.bus.call_of(agent.tab.id) is None
    assert (call.id, "agent") not in h.avatars.viewers
    assert h.avatars.texts(call.id)[-1] == "Merci pour votre appel. Au revoir, et bonne journée !"
    assert customer.last(m.AvatarViewChanged).view == "stream"
    await h.advance(AFTER_CALL)
    assert await h.repo.get(call.id) is None and call.id not in h.avatars.live
    assert h.scheduler.pending(call.id) == set()
    assert (await h.repo.record(call.id)).state is CallState.ENDED  # the record stays


async def test_with_no_conclusion_the_avatar_stops_when_the_call_ends() -> None:
    h = FlowHarness()
    call, customer, _agent = await h.in_call(after="off")
    await customer.send({"type": "call.end", "call_id": call.id})
    assert (await h.call()).end_reason == "customer_hung_up"
    assert call.id not in h.avatars.live
    assert customer.last(m.AvatarViewChanged).view == "off"


async def test_a_customer_gone_past_the_grace_period_is_abandoned() -> None:
    h = FlowHarness()
    lobby = await h.agent()
    call, customer = await h.customer()
    await customer.leave()
    await h.advance(WAITING_GRACE - 1)
    assert (await h.call()).state is CallState.WAITING  # still has its place
    await h.advance(1)
    abandoned = await h.call()
    assert abandoned.state is CallState.ENDED and abandoned.end_reason == "customer_left"
    assert call.id not in h.avatars.live
    assert lobby.last(m.QueueUpdate).items == []


async def test_a_customer_back_within_the_grace_period_keeps_the_call() -> None:
    h = FlowHarness()
    call, customer = await h.customer()
    await customer.leave()
    await h.advance(WAITING_GRACE - 5)
    again = await h.connect(Role.CUSTOMER, "Zoé", call.id)
    await h.advance(WAITING_GRACE)
    assert (await h.call()).state is CallState.WAITING
    assert again.last(m.AvatarViewChanged).epoch == h.avatars.current(call.id)


async def test_a_newer_tab_of_the_customer_takes_over_and_the_old_ones_close_changes_nothing() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    reloaded = await h.connect(Role.CUSTOMER, "Zoé", call.id)
    assert reloaded.last(m.CallStarted).polite is True
    await customer.leave()  # the old tab's socket closes after the new one is in
    assert h.scheduler.pending(call.id) == set()
    await reloaded.send({"type": "call.rejoin", "call_id": call.id})
    assert agent.last(m.CallRejoined).call_id == call.id
    assert (await h.call()).state is CallState.RECONNECTING


async def test_an_agent_resumes_the_call_after_a_cut_or_ends_it_by_being_gone() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    await agent.leave()
    assert Timer.AGENT_GRACE in h.scheduler.pending(call.id)
    back = await h.agent("alice", resume=call.id)
    assert back.last(m.CallStarted).call.call_id == call.id
    assert back.last(m.Welcome).call.call_id == call.id
    await h.advance(WAITING_GRACE)
    assert (await h.call()).state is CallState.CONNECTED
    await back.leave()
    stranger = await h.agent("mallory", resume=call.id)  # not their call: the lobby
    assert stranger.last(m.Welcome).call is None
    await h.advance(WAITING_GRACE)
    gone = await h.call()
    assert gone.state is CallState.ENDED and gone.end_reason == "agent_left"
    assert customer.last(m.CallStateChanged).reason == "agent_left"


async def test_refusals_carry_their_codes_and_change_nothing() -> None:
    h = FlowHarness()
    call, customer = await h.customer()
    other, _ = await h.customer("Eve")
    agent = await h.agent()
    assert await customer.send({"type": "call.accept", "call_id": call.id}) == "not_allowed"
    assert await customer.send({"type": "call.end", "call_id": other.id}) == "not_allowed"
    assert await customer.send({"type": "call.end", "call_id": "nope"}) == "unknown_call"
    assert await customer.send({"type": "avatar.say", "call_id": call.id,
                                "text": "hi"}) == "not_allowed"
    assert await agent.send({"type": "call.accept", "call_id": call.id}) is None
    assert await agent.send({"type": "call.accept", "call_id": other.id}) == "not_allowed"
    assert (await h.repo.get(other.id)).state is CallState.WAITING
    await customer.send({"type": "call.end", "call_id": call.id})
    assert await agent.send({"type": "call.accept", "call_id": call.id}) == "call_ended"


async def test_an_agent_reports_on_its_call_just_after_it_ended() -> None:
    h = FlowHarness()
    call, _customer, agent = await h.in_call()
    await agent.send({"type": "call.end", "call_id": call.id})
    report = {"type": "telemetry", "call_id": call.id,
              "events": [{"at": h.now * 1000, "link": "call", "kind": "closed"}]}
    assert await agent.send(report) is None
    stranger = await h.agent("bob")
    assert await stranger.send(report) == "not_allowed"
    assert h.timeline(call.id)[-1] == "call.closed"


async def test_the_scorecard_counts_the_avatar_before_the_call() -> None:
    h = FlowHarness()
    call, customer = await h.customer()
    await customer.send({"type": "telemetry", "call_id": call.id, "events": [
        {"at": h.now * 1000, "link": "avatar", "kind": "live", "elapsed_ms": 320}]})
    await asyncio.sleep(0)  # the outcome is written by a task of the flow
    outcomes = [e.detail for e in h.records.events if e.kind == "outcome"]
    assert outcomes == [{"scenario": "avatar_before", "outcome": "success"}]


async def test_calls_come_back_after_a_restart_and_end_if_nobody_returns() -> None:
    h = FlowHarness()
    waiting, _ = await h.customer()
    on, _, _ = await h.in_call()
    later = FlowHarness(records=h.records)  # a new process over the same records
    assert await later.flow.restore() == 2
    assert set(later.avatars.live) == {waiting.id, on.id}
    assert later.avatars.said == []  # no second greeting
    await later.advance(WAITING_GRACE)
    assert {c.state for c in await later.repo.live()} == {CallState.ENDED}
    assert (await later.repo.get(waiting.id)).end_reason == "customer_left"


async def test_an_invitation_makes_its_call_once() -> None:
    h = FlowHarness()
    first = await h.flow.open_invite("invited1", "Zoé", "fr")
    again = await h.flow.open_invite("invited1", "Zoé", "fr")
    assert first.id == again.id == "invited1" and len(await h.repo.live()) == 1
    await h.flow._end("invited1", "customer_hung_up")
    await h.advance(AFTER_CALL)
    try:
        await h.flow.open_invite("invited1", "Zoé", "fr")
    except Exception as exc:  # noqa: BLE001
        assert getattr(exc, "code", None) == "call_ended"
    else:
        raise AssertionError("an ended invitation opened a new call")


async def test_a_failure_after_a_customer_tab_is_bound_still_gives_it_the_grace_period() -> None:
    """A tab whose welcome could not be sent (the socket is dropped) is cleaned up like any
    other: its call is abandoned after the grace period, never left in the queue."""
    h = FlowHarness()
    _call, customer = await h.customer()
    await customer.leave()  # ws.py always runs disconnect, whatever failed after attaching
    await h.advance(WAITING_GRACE)
    assert (await h.call()).state is CallState.ENDED


async def test_after_the_call_the_agents_preview_follows_the_goodbye_and_its_links_raise_nothing() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call(after="conclusion")
    await agent.send({"type": "call.end", "call_id": call.id})
    assert agent.last(m.AvatarViewChanged).view == "stream"  # not black and "reconnecting"
    assert customer.last(m.AvatarViewChanged).view == "stream"  # the customer hears goodbye
    for link, state in (("avatar", "closed"), ("call", "closed")):
        assert await agent.send({"type": "link.state", "call_id": call.id, "link": link,
                                 "state": state}) is None
    assert "avatar.link.closed" in h.timeline(call.id)
    stranger = await h.agent("mallory")
    assert await stranger.send({"type": "link.state", "call_id": call.id, "link": "call",
                                "state": "closed"}) == "not_allowed"
