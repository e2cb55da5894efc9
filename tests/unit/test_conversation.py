"""The customer talks to the assistant while waiting (the flow, in-process): answers from the
FAQ told to the page and spoken by the avatar, the queue's own answers, what it cannot answer
kept for the agent, and the agent who takes the call handed the conversation."""

from __future__ import annotations

import json

import pytest

from avatarcall.errors import BadMessage
from avatarcall.signaling import messages as m
from avatarcall.testing.flow import FlowHarness


def turns(page) -> list[tuple[str, str]]:
    return [(t.item.role, t.item.text) for t in page.outlet.of(m.ConversationTurn)]


async def test_a_typed_question_is_answered_from_the_faq_and_spoken() -> None:
    h = FlowHarness()
    call, customer = await h.customer("Zoé", language="en")
    assert await customer.send({"type": "assistant.ask", "call_id": call.id,
                                "text": "When are you open on Saturday?"}) is None
    (who, asked), (_, answer) = turns(customer)
    assert (who, asked) == ("customer", "When are you open on Saturday?")
    assert "Saturday from 10 am" in answer
    assert h.avatars.texts(call.id)[-1] == answer  # the avatar says it
    assert h.timeline(call.id).count("conversation") == 2


async def test_the_wait_comes_from_the_queue_and_a_person_is_promised() -> None:
    h = FlowHarness()
    await h.customer("Léa", language="en")
    call, customer = await h.customer("Zoé", language="en")
    await customer.send({"type": "assistant.ask", "call_id": call.id, "text": "how long is the wait?"})
    assert "No advisor is online" in turns(customer)[-1][1] and "number 2" in turns(customer)[-1][1]
    await h.agent("alice")
    await customer.send({"type": "assistant.ask", "call_id": call.id, "text": "I want a real person"})
    assert "number 2" in turns(customer)[-1][1]


async def test_what_it_cannot_answer_is_handed_to_the_agent_who_is_introduced() -> None:
    h = FlowHarness()
    call, customer = await h.customer("Zoé", language="fr")
    for text in ("Ma machine à laver fait un bruit bizarre", "je voudrais laisser un message",
                 "Rappelez-moi après 17 h"):
        assert await customer.send({"type": "assistant.ask", "call_id": call.id, "text": text}) is None
    assert [i.item.open for i in customer.outlet.of(m.ConversationTurn)] == [
        True, False, False, False, True, False]
    agent = await h.agent("alice")
    assert await agent.send({"type": "call.accept", "call_id": call.id}) is None
    handed = agent.last(m.ConversationHistory)
    assert len(handed.items) == 6
    assert handed.open == ["Ma machine à laver fait un bruit bizarre", "Rappelez-moi après 17 h"]
    assert h.avatars.texts(call.id)[-1] == "Je vous passe alice, qui voit vos questions."
    # The assistant steps aside during the call; only the customer talks to it.
    assert await customer.send({"type": "assistant.ask", "call_id": call.id,
                                "text": "allô"}) == "not_allowed"
    assert await agent.send({"type": "assistant.ask", "call_id": call.id,
                             "text": "hello"}) == "not_allowed"
    # A reload of the agent's console gets it again.
    again = await h.connect(agent.tab.role, "alice", call.id)
    assert again.last(m.ConversationHistory).open == handed.open


async def test_a_reopened_page_sees_the_conversation_and_bad_words_are_refused() -> None:
    h = FlowHarness()
    call, customer = await h.customer("Zoé", language="en")
    await customer.send({"type": "assistant.ask", "call_id": call.id, "text": "Do you take PayPal?"})
    await customer.leave()
    back = await h.connect(customer.tab.role, "Zoé", call.id)
    assert [i.role for i in back.last(m.ConversationHistory).items] == ["customer", "assistant"]
    assert await back.send({"type": "assistant.ask", "call_id": call.id,
                            "text": "\u0000\u0007 "}) == "bad_message"
    with pytest.raises(BadMessage):
        m.parse_client_message(json.dumps({"type": "assistant.ask", "call_id": call.id,
                                           "text": "x" * (m.ASK_MAX + 1)}))


async def test_the_customers_page_gets_quick_replies_the_agent_no_empty_hand_over() -> None:
    h = FlowHarness()
    call, customer = await h.customer("Zoé", language="en")
    told = customer.last(m.ConversationHistory)
    assert told.items == [] and told.suggestions[:2] == ["How long is the wait?",
                                                         "I would like to talk to a person"]
    assert "What are your opening hours?" in told.suggestions  # the FAQ's first entries
    agent = await h.agent("alice")
    await agent.send({"type": "call.accept", "call_id": call.id})
    assert agent.outlet.of(m.ConversationHistory) == []  # nothing was said: nothing handed over
