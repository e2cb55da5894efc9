"""The operator's chat model (an OpenAI-compatible endpoint), against a small real server on
loopback that speaks the streaming protocol: its answer from the FAQ's closest entries, spoken
sentence by sentence; the FAQ's own answer when its first words are late or it fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from avatarcall.assistant import Assistant, load_faqs
from avatarcall.assistant.chat import ChatModel
from avatarcall.signaling import messages as m
from avatarcall.testing.chat import ChatServer
from avatarcall.testing.flow import FlowHarness


@pytest.fixture(scope="module")
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(chat_server: ChatServer) -> ChatServer:
    chat_server.first_delay, chat_server.status = 0.0, 200
    chat_server.requests.clear()
    return chat_server


def harness(server: ChatServer, budget: float = 2.0) -> FlowHarness:
    return FlowHarness(answers=Assistant(load_faqs(), ChatModel(server.url, "tiny", "sk-test"),
                                         chat_budget=budget))


def answers(page) -> list[str]:
    return [t.item.text for t in page.outlet.of(m.ConversationTurn) if t.item.role == "assistant"]


async def test_the_chat_models_words_from_the_faq_are_spoken_sentence_by_sentence(
        server: ChatServer) -> None:
    h = harness(server)
    call, customer = await h.customer("Zoé", language="en")
    assert await customer.send({"type": "assistant.ask", "call_id": call.id,
                                "text": "Can I pay with PayPal?"}) is None
    asked = server.requests[-1]
    assert asked["stream"] is True and asked["model"] == "tiny"
    system, user = asked["messages"]
    assert "PayPal" in system["content"] and user["content"] == "Can I pay with PayPal?"
    said = h.avatars.texts(call.id)[-3:]
    assert said == ["Good question.", "We accept bank cards, PayPal and bank transfers.",
                    "Anything else?"]
    assert h.avatars.appended[-3:] == [False, True, True]  # one answer, in order
    assert answers(customer)[-1] == " ".join(said)


@pytest.mark.parametrize("trouble", ["slow", "broken"])
async def test_the_faqs_answer_when_the_chat_model_is_late_or_broken(server: ChatServer,
                                                                     trouble: str) -> None:
    if trouble == "slow":
        server.first_delay = 1.0
    else:
        server.status = 500
    h = harness(server, budget=0.3)
    call, customer = await h.customer("Zoé", language="en")
    await customer.send({"type": "assistant.ask", "call_id": call.id, "text": "Can I pay with PayPal?"})
    assert answers(customer)[-1] == "We accept bank cards, PayPal and bank transfers."
    assert h.avatars.texts(call.id)[-1] == answers(customer)[-1]


async def test_the_queues_own_answers_never_go_to_the_chat_model(server: ChatServer) -> None:
    h = harness(server)
    call, customer = await h.customer("Zoé", language="en")
    await customer.send({"type": "assistant.ask", "call_id": call.id, "text": "how long is the wait"})
    assert server.requests == [] and "number 1" in answers(customer)[-1]


def test_a_turn_goes_to_a_transcription_endpoint_as_a_wav(server: ChatServer) -> None:
    import io
    import wave

    import numpy as np

    from avatarcall.avatar.recognizers import TranscriptionEndpoint

    server.transcript = "Acceptez-vous PayPal ?"
    endpoint = TranscriptionEndpoint(server.url, "whisper-1", "sk-test", ["fr"])
    turn = (np.sin(np.arange(16_000) / 5) * 8000).astype(np.int16)  # a second of sound
    assert endpoint.transcribe(turn, "fr") == "Acceptez-vous PayPal ?"
    fields, wav = server.uploads[-1]
    assert fields["model"] == "whisper-1" and fields["language"] == "fr"
    with wave.open(io.BytesIO(wav)) as heard:
        assert (heard.getframerate(), heard.getnchannels(), heard.getnframes()) == (16_000, 1, 16_000)
    server.status = 503
    assert endpoint.transcribe(turn, "fr") == ""  # lost, logged: the customer can type
