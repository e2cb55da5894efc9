"""The avatar director in-process, on fakes: modes, speech, crashes and restarts, the capacity
line (shared with diagnostics), and the defects fixed on the way."""

from __future__ import annotations

import pytest

from avatarcall.calls import Role
from avatarcall.errors import AvatarBusy
from avatarcall.flow.director import AUTO_RESTARTS
from avatarcall.flow.ports import Timer
from avatarcall.signaling import messages as m
from avatarcall.testing.flow import AFTER_CALL, FlowHarness


async def _plan(page, call_id: str, during: str | None = None, after: str | None = None) -> None:
    message = {"type": "avatar.plan.set", "call_id": call_id}
    if during:
        message["during"] = during
    if after:
        message["after"] = after
    assert await page.send(message) is None


@pytest.mark.parametrize(("during", "customer_sees", "agent_sees", "voice"), [
    ("beside", "stream", "stream", "tts"),
    ("overlay", "overlay", "overlay", "tts"),
    ("as-agent", "stream", "stream", "agent"),
    ("off", "off", "off", "tts"),
])
async def test_each_mode_tells_both_pages_what_their_slot_shows(
        during: str, customer_sees: str, agent_sees: str, voice: str) -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call(during="beside")
    await _plan(agent, call.id, during)
    assert customer.last(m.AvatarViewChanged).view == customer_sees
    assert agent.last(m.AvatarViewChanged).view == agent_sees
    assert customer.last(m.AvatarViewChanged).voice == voice
    assert h.avatars.voices.get(call.id) == ("agent" if voice == "agent" else None)
    assert h.timeline(call.id).count("avatar.plan") == 1


async def test_switching_modes_ten_times_keeps_one_session_and_only_tells_changes() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call(during="beside")
    epoch = h.avatars.current(call.id)
    customer.clear()
    for during in ["overlay", "beside", "as-agent", "off", "beside"] * 2:
        await _plan(agent, call.id, during)
    await _plan(agent, call.id, "beside")  # no change: nothing sent
    assert h.avatars.current(call.id) == epoch and h.avatars.started.count(call.id) == 1
    assert [v.view for v in customer.views()] == ["overlay", "stream", "stream", "off",
                                                   "stream"] * 2
    assert (await h.call()).state.value == "connected"


async def test_the_agent_makes_the_avatar_speak_and_only_the_length_is_recorded() -> None:
    h = FlowHarness()
    call, _customer, agent = await h.in_call()
    assert await agent.send({"type": "avatar.say", "call_id": call.id,
                             "text": "Votre colis arrive demain."}) is None
    assert h.avatars.texts(call.id)[-1] == "Votre colis arrive demain."
    say = [e for e in h.records.events if e.kind == "avatar.say"]
    assert [e.detail for e in say] == [{"chars": 26}]


async def test_offers_are_answered_for_the_current_epoch_only() -> None:
    h = FlowHarness()
    call, customer = await h.customer()
    epoch = h.avatars.current(call.id)
    assert await customer.send({"type": "avatar.offer", "call_id": call.id, "epoch": epoch,
                                "sdp": "v=0 offer"}) is None
    assert customer.last(m.AvatarAnswer).epoch == epoch
    assert await customer.send({"type": "avatar.offer", "call_id": call.id, "epoch": epoch + 1,
                                "sdp": "v=0 offer"}) == "avatar_unavailable"
    assert await customer.send({"type": "avatar.offer", "call_id": call.id, "epoch": epoch,
                                "sdp": "garbage"}) == "bad_sdp"


async def test_a_crashed_avatar_is_told_to_both_pages_and_restarted_a_few_times() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    for attempt in range(AUTO_RESTARTS + 1):
        epoch = h.avatars.current(call.id)
        h.avatars.fail(call.id)
        await h.pump()
        for page in (customer, agent):
            failed = page.last(m.AvatarFailed)
            assert (failed.epoch, failed.code, failed.retryable) == (epoch, "avatar_crashed", True)
        await h.advance(1.0)
        if attempt < AUTO_RESTARTS:
            new = h.avatars.current(call.id)
            assert new is not None and new != epoch
            assert customer.last(m.AvatarViewChanged).epoch == new
    assert call.id not in h.avatars.live  # past the automatic restarts: the agent's button
    assert h.timeline(call.id).count("avatar.failed") == AUTO_RESTARTS + 1
    assert h.timeline(call.id).count("avatar.restarted") == AUTO_RESTARTS
    assert await agent.send({"type": "avatar.say", "call_id": call.id,
                             "text": "allo"}) == "avatar_unavailable"
    assert await agent.send({"type": "avatar.restart", "call_id": call.id}) is None
    assert h.avatars.current(call.id) is not None
    assert (await h.call()).state.value == "connected"  # the call never noticed


async def test_the_server_side_of_viewer_links_is_on_the_timeline() -> None:
    h = FlowHarness()
    call, _customer = await h.customer()
    stream = await h.diagnostics.open("v=0 offer", "en")
    h.avatars.link_state(call.id, "customer", "connected")
    h.avatars.link_state(stream.session, "diagnostics", "connected")  # no call: not recorded
    await h.pump()
    entries = [e for e in h.records.events if e.kind == "avatar.server.connected"]
    assert [(e.call_id, e.detail) for e in entries] == [(call.id, {"viewer": "customer"})]


async def test_past_capacity_a_call_waits_in_line_with_the_local_animation() -> None:
    h = FlowHarness(capacity=1)
    first, first_page = await h.customer("Ann")
    second, second_page = await h.customer("Bob")
    assert first.id in h.avatars.live and second.id not in h.avatars.live
    assert second_page.last(m.AvatarViewChanged).view == "overlay"
    agent = await h.agent()
    await agent.send({"type": "call.accept", "call_id": second.id})
    busy = agent.last(m.AvatarFailed)
    assert busy.code == AvatarBusy.code and "in use" in busy.message
    assert agent.last(m.AvatarViewChanged).view == "overlay"
    assert await agent.send({"type": "avatar.say", "call_id": second.id,
                             "text": "hi"}) == "avatar_busy"
    await first_page.send({"type": "call.end", "call_id": first.id})  # Ann leaves the queue
    await first_page.leave()
    assert second.id in h.avatars.live  # the freed avatar went to the call in line
    assert second_page.last(m.AvatarViewChanged).view == "stream"
    assert agent.last(m.AvatarViewChanged).epoch == h.avatars.current(second.id)


async def test_a_diagnostic_avatar_that_ends_serves_the_calls_in_line() -> None:
    """Defect: a diagnostics avatar freed through the avatar service did not serve the line."""
    h = FlowHarness(capacity=1)
    stream = await h.diagnostics.open("v=0 offer", "en")
    call, page = await h.customer()
    assert page.last(m.AvatarViewChanged).view == "overlay"
    await h.diagnostics.close_one(stream.session)
    await h.pump()
    assert call.id in h.avatars.live
    assert page.last(m.AvatarViewChanged).view == "stream"
    assert h.avatars.texts(call.id)  # the greeting it had missed


async def test_diagnostics_never_wait_in_line() -> None:
    h = FlowHarness(capacity=1)
    await h.customer()
    with pytest.raises(AvatarBusy):
        await h.diagnostics.open("v=0 offer", "en")
    assert h.flow.director.seats.line() == [] and h.diagnostics.running == 0


async def test_forgetting_a_call_cancels_its_avatar_restart() -> None:
    """Defect: an avatar restart timer fired after its call was forgotten and started a session
    nobody stopped, holding a capacity slot."""
    h = FlowHarness(restart_delay=AFTER_CALL + 60)
    call, _customer, agent = await h.in_call(after="conclusion")
    await agent.send({"type": "call.end", "call_id": call.id})
    h.avatars.fail(call.id)  # crashes while it concludes
    await h.pump()
    assert Timer.AVATAR_RESTART in h.scheduler.pending(call.id)
    await h.advance(AFTER_CALL)  # forgotten
    assert h.scheduler.pending(call.id) == set()
    await h.advance(120)
    assert h.avatars.live == {} and h.avatars.started.count(call.id) == 1


async def test_after_the_call_the_agents_preview_follows_the_goodbye_and_the_customer_hears_it() -> None:
    h = FlowHarness()
    call, _customer, agent = await h.in_call(during="overlay")
    await agent.send({"type": "call.end", "call_id": call.id})
    assert h.avatars.said[-1][2] is True  # the goodbye waits for the customer to watch
    epoch = h.avatars.current(call.id)
    assert agent.last(m.AvatarViewChanged).view == "stream"  # what the customer sees now
    assert await agent.send({"type": "avatar.offer", "call_id": call.id, "epoch": epoch,
                             "sdp": "v=0 offer"}) is None
    assert (call.id, Role.AGENT.value) in h.avatars.viewers
    # Another call taken: the old goodbye is none of this page's business any more.
    next_call, _ = await h.customer("Léa")
    assert await agent.send({"type": "call.accept", "call_id": next_call.id}) is None
    assert await agent.send({"type": "avatar.offer", "call_id": call.id, "epoch": epoch,
                             "sdp": "v=0 offer"}) == "not_allowed"


async def test_with_no_goodbye_the_agents_preview_goes_off_with_the_call() -> None:
    h = FlowHarness()
    call, _customer, agent = await h.in_call(after="off")
    await agent.send({"type": "call.end", "call_id": call.id})
    assert agent.last(m.AvatarViewChanged).view == "off"
    assert (call.id, Role.AGENT.value) not in h.avatars.viewers
    assert await agent.send({"type": "avatar.offer", "call_id": call.id, "epoch": 1,
                             "sdp": "v=0 offer"}) == "not_allowed"


@pytest.mark.parametrize("code", ["avatar_worker_lost", "avatar_moved"])
async def test_an_avatar_whose_worker_went_away_starts_again_at_once(code: str) -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    epoch = h.avatars.current(call.id)
    for _ in range(5):  # not the avatar's fault: no limit, no delay
        h.avatars.fail(call.id, code)
        await h.pump()
    new = h.avatars.current(call.id)
    assert new is not None and new != epoch
    assert customer.last(m.AvatarViewChanged).epoch == new
    assert agent.last(m.AvatarViewChanged).epoch == new
    assert not customer.outlet.of(m.AvatarFailed)  # the pages just follow the new epoch
    assert h.timeline(call.id).count("avatar.failed") == 5


async def test_an_avatar_gone_unseen_starts_again_when_a_page_comes_or_offers() -> None:
    """With several nodes, an avatar can vanish with its node and no event: a page that comes
    back, or offers for it, brings a new one."""
    h = FlowHarness()
    call, _ = await h.customer()
    epoch = h.avatars.current(call.id)
    del h.avatars.live[call.id]  # its node died: no failure event reaches anyone
    again = await h.connect(Role.CUSTOMER, "Zoé", call.id)
    new = h.avatars.current(call.id)
    assert new is not None and new != epoch
    assert again.last(m.AvatarViewChanged).epoch == new
    del h.avatars.live[call.id]
    assert await again.send({"type": "avatar.offer", "call_id": call.id, "epoch": new,
                             "sdp": "v=0 offer"}) == "avatar_unavailable"
    assert h.avatars.current(call.id) not in (None, new)
    assert again.last(m.AvatarViewChanged).epoch == h.avatars.current(call.id)
