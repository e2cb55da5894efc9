"""What the pages are told beyond the call itself (issue: pages people trust): a customer's
place in line and the estimated wait, whether any agent is online, the avatar's captions, the
rating; the agents' queue saying whose page is closed, a closed page refused at once, Say in
another language."""

from __future__ import annotations

import json

import pytest

from avatarcall.calls import CallState
from avatarcall.errors import BadMessage
from avatarcall.signaling import messages as m
from avatarcall.testing.flow import FlowHarness


async def test_each_waiting_customer_hears_their_place_and_whether_anyone_is_online() -> None:
    h = FlowHarness()
    first_call, first = await h.customer("Zoé")
    assert first.last(m.QueuePosition).agents_online == 0  # "no advisor is online right now"
    _, second = await h.customer("Léa")
    told = second.last(m.QueuePosition)
    assert (told.position, told.total, told.estimated_wait) == (2, 2, None)  # no accepts yet
    agent = await h.agent("alice")
    assert second.last(m.QueuePosition).agents_online == 1
    assert await agent.send({"type": "call.accept", "call_id": first_call.id}) is None
    assert second.last(m.QueuePosition).position == 1  # moved up


async def test_a_waiting_customer_is_not_told_again_of_those_who_join_behind() -> None:
    """A thousand joining behind would be a thousand messages to everyone ahead of them."""
    h = FlowHarness()
    _, first = await h.customer("Zoé")
    told = len(first.outlet.of(m.QueuePosition))
    for name in ("Léa", "Noé", "Ana"):
        await h.customer(name)
    assert len(first.outlet.of(m.QueuePosition)) == told


async def test_the_estimated_wait_comes_from_how_often_calls_were_taken() -> None:
    h = FlowHarness()
    agents = [await h.agent(f"agent{i}") for i in range(3)]
    for agent in agents[:2]:
        call, _ = await h.customer()
        await agent.send({"type": "call.accept", "call_id": call.id})
        await h.advance(90)  # one call taken every 90 s
    _, waiting = await h.customer("Léa")
    _, behind = await h.customer("Noé")
    assert waiting.last(m.QueuePosition).estimated_wait == 90
    assert behind.last(m.QueuePosition).estimated_wait == 180


async def test_the_avatars_words_reach_the_customer_as_captions_in_the_chosen_language() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    greeting, handover = (c.text for c in customer.outlet.of(m.AvatarCaption))
    assert greeting.startswith("Bonjour") and handover == "Je vous passe alice."
    assert await agent.send({"type": "avatar.say", "call_id": call.id, "text": "Hello there",
                             "language": "en"}) is None
    assert customer.last(m.AvatarCaption).text == "Hello there"
    assert h.avatars.said[-1][1] == "Hello there" and h.avatars.said_in[-1] == "en"
    with pytest.raises(BadMessage):
        m.parse_client_message(json.dumps({"type": "avatar.say", "call_id": call.id, "text": "x",
                                           "language": "french"}))


async def test_the_customer_rates_the_call_once_it_ended_and_only_the_customer() -> None:
    h = FlowHarness()
    call, customer, agent = await h.in_call()
    assert await agent.send({"type": "call.rate", "call_id": call.id, "stars": 5}) == "not_allowed"
    await agent.send({"type": "call.end", "call_id": call.id})
    with pytest.raises(BadMessage):
        m.parse_client_message(json.dumps({"type": "call.rate", "call_id": call.id, "stars": 6}))
    assert await customer.send({"type": "call.rate", "call_id": call.id, "stars": 4}) is None
    assert "rating" in h.timeline(call.id)


async def test_the_agent_sees_what_the_call_is_about_in_the_queue_and_in_the_call() -> None:
    h = FlowHarness()
    agent = await h.agent("alice")
    call, customer = await h.customer("Zoé", topic="Ma facture de novembre")
    assert [(i.customer, i.topic) for i in agent.last(m.QueueUpdate).items] == [
        ("Zoé", "Ma facture de novembre")]
    assert await agent.send({"type": "call.accept", "call_id": call.id}) is None
    for page in (agent, customer):
        assert page.last(m.CallStarted).call.topic == "Ma facture de novembre"


async def test_the_queue_says_whose_page_is_closed_and_taking_them_is_refused_at_once() -> None:
    h = FlowHarness()
    agent = await h.agent("alice")
    call, customer = await h.customer("Zoé")
    assert [i.connected for i in agent.last(m.QueueUpdate).items] == [True]
    await customer.leave()
    assert [i.connected for i in agent.last(m.QueueUpdate).items] == [False]
    assert await agent.send({"type": "call.accept", "call_id": call.id}) == "customer_away"
    assert (await h.call()).state is CallState.WAITING  # their place is kept for the grace period
    back = await h.connect(customer.tab.role, "Zoé", call.id)
    assert [i.connected for i in agent.last(m.QueueUpdate).items] == [True]
    assert await agent.send({"type": "call.accept", "call_id": call.id}) is None
    assert back.last(m.CallStarted).call.agent == "alice"
