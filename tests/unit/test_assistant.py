"""The assistant's answers, without a server: the shipped FAQ found from questions put in other
words, nothing made up for questions it does not cover, the queue's own intents, and FAQ files
an operator gets wrong told clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatarcall.assistant import Assistant, FaqError, ReplyKind, Waiting, load_faqs
from avatarcall.assistant.faq import Faq, FaqEntry, read_entries
from avatarcall.assistant.intents import Intent, intent_of

FAQS = load_faqs()
# Put otherwise than in the FAQ's own questions.
ASKED = {
    "en": [("what time do you open in the morning", "opening-hours"),
           ("has my parcel been shipped", "track-order"),
           ("how much does delivery cost", "delivery-cost"),
           ("I want to send back a shirt", "returns"),
           ("when do I get my money back", "refund"),
           ("can I pay with paypal", "payment"),
           ("I need to cancel an order I placed", "cancel-order"),
           ("I moved, can I change the address", "change-address"),
           ("reset password please", "password"),
           ("where is the invoice for my purchase", "invoice"),
           ("the screen is broken", "warranty"),
           ("how many days until it arrives", "delivery-time")],
    "fr": [("à quelle heure ouvrez-vous le matin", "opening-hours"),
           ("mon colis est en retard", "track-order"),
           ("je veux renvoyer une chemise", "returns"),
           ("je voudrais être remboursé", "refund"),
           ("puis-je payer avec PayPal", "payment"),
           ("où est ma facture", "invoice")],
}


@pytest.mark.parametrize(("language", "question", "entry"),
                         [(lang, q, e) for lang, pairs in ASKED.items() for q, e in pairs])
def test_a_question_in_other_words_finds_its_entry(language: str, question: str, entry: str) -> None:
    match = FAQS[language].best(question)
    assert match is not None and match.entry.id == entry, (question, match)


@pytest.mark.parametrize(("language", "question"), [
    ("en", "what is the capital of France"), ("en", "tell me a joke"), ("en", "hello"),
    ("en", "do you sell bicycles"), ("fr", "bonjour"), ("fr", "quelle est la capitale de la France"),
])
def test_nothing_is_made_up_for_what_the_faq_does_not_cover(language: str, question: str) -> None:
    assert FAQS[language].best(question) is None
    reply = Assistant(FAQS).reply(question, language, Waiting(position=2, agents_online=1))
    assert reply.kind is ReplyKind.UNKNOWN and reply.open  # kept for the agent


@pytest.mark.parametrize(("text", "language", "intent"), [
    ("How long do I still have to wait?", "en", Intent.WAIT),
    ("what is my place in the queue", "en", Intent.WAIT),
    ("I want to talk to a real person", "en", Intent.PERSON),
    ("Can I leave a message?", "en", Intent.MESSAGE),
    ("Combien de temps d'attente ?", "fr", Intent.WAIT),
    ("Je veux parler à quelqu’un", "fr", Intent.PERSON),
    ("Je voudrais laisser un message", "fr", Intent.MESSAGE),
    ("Where is my order?", "en", None),
    ("How long will delivery take?", "en", None),  # the FAQ's, not the queue's
    ("Combien de temps pour la livraison ?", "fr", None),
])
def test_what_the_customer_asks_about_the_wait_itself(text: str, language: str,
                                                      intent: Intent | None) -> None:
    assert intent_of(text, language) is intent


def test_the_wait_is_told_from_the_queue_and_a_message_is_kept_for_the_agent() -> None:
    assistant = Assistant(FAQS)
    reply = assistant.reply("how long is the wait?", "en", Waiting(3, 2, estimated_wait=150))
    assert reply.kind is ReplyKind.WAIT and "number 3" in reply.text and "3 minutes" in reply.text
    nobody = assistant.reply("combien de temps d'attente", "fr", Waiting(1, 0))
    assert "Aucun conseiller" in nobody.text
    assert assistant.reply("a human please", "en", Waiting(1, 1)).kind is ReplyKind.PERSON
    asked = assistant.reply("I'd like to leave a message", "en", Waiting(1, 1))
    assert asked.kind is ReplyKind.MESSAGE and not asked.open
    noted = assistant.reply("Please call me back after 5", "en", Waiting(1, 1), expecting_message=True)
    assert noted.kind is ReplyKind.NOTED and noted.open
    after = assistant.reply("what is the meaning of life", "en", None)  # the call is over
    assert after.kind is ReplyKind.UNKNOWN and not after.open
    assert assistant.handover("fr", "Alice", True) == "Je vous passe Alice, qui voit vos questions."


def test_an_operators_faq_file_that_is_wrong_says_where(tmp_path: Path) -> None:
    for text, says in (("- id: x\n  answer: y\n", "entry 1 needs 'questions'"),
                       ("- questions: [a]\n", "entry 1 needs an 'answer'"),
                       ("id: x\n", "expected a list"),
                       ("- [unclosed\n", "en.yaml")):
        (tmp_path / "en.yaml").write_text(text)
        with pytest.raises(FaqError, match=says.replace("[", r"\[")):
            read_entries(tmp_path / "en.yaml")
    with pytest.raises(FaqError, match="no FAQ file"):
        load_faqs(tmp_path / "nothing")
    (tmp_path / "en.yaml").write_text("- id: hours\n  questions: ['When are you open?']\n  answer: 9-5\n")
    assert load_faqs(tmp_path)["en"].best("open when?").entry.id == "hours"
    assert Faq("en", [FaqEntry("a", ("x",), "y")]).best("...") is None  # no word at all
