"""What the assistant answers a customer, in their language: the wait, a person, a message
for the advisor, the FAQ's answer, or that the advisor will answer it. Pure: no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from avatarcall.assistant.chat import ChatModel
from avatarcall.assistant.faq import Faq
from avatarcall.assistant.intents import Intent, intent_of


class ReplyKind(StrEnum):
    FAQ = "faq"
    WAIT = "wait"
    PERSON = "person"
    MESSAGE = "message"  # "go ahead": the next words are the message
    NOTED = "noted"  # the message, kept for the advisor
    UNKNOWN = "unknown"  # kept for the advisor
    CHAT = "chat"  # the operator's chat model's words, from the FAQ's closest entries


@dataclass(frozen=True)
class Waiting:
    """The customer's place in line, as the queue tells it (None: not waiting any more)."""

    position: int
    agents_online: int
    estimated_wait: float | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    kind: ReplyKind
    entry: str | None = None  # the FAQ entry's id
    open: bool = False  # a question or message for the advisor


WORDS: dict[str, dict[str, str]] = {
    "en": {
        "wait": "You are number {position} in line{wait}. You keep your place while we talk.",
        "wait_minutes": "; the wait should be about {minutes} minute{s}",
        "no_agents": "No advisor is online right now. You keep your place, number {position}, "
                     "and the first advisor to sign in takes your call.",
        "person": "Of course: you are in line for an advisor, number {position}. I stay with you "
                  "until they take over.",
        "ended": "This call has ended. Start a new call whenever you like and an advisor will "
                 "help you.",
        "message": "Go ahead: tell me your message and I will pass it on to the advisor.",
        "noted": "Thank you, your message is noted: the advisor will see it.",
        "unknown": "I cannot answer that one, but I have noted it for the advisor who takes "
                   "your call.",
        "unknown_after": "I cannot answer that one. Start a new call and an advisor will help you.",
        "handover": "I am handing you over to {agent}.",
        "handover_questions": "I am handing you over to {agent}, who can see your questions.",
        "suggest_wait": "How long is the wait?",
        "suggest_person": "I would like to talk to a person",
        "suggest_message": "I want to leave a message",
    },
    "fr": {
        "wait": "Vous êtes numéro {position} dans la file{wait}. Vous gardez votre place pendant "
                "que nous parlons.",
        "wait_minutes": " ; l’attente devrait être d’environ {minutes} minute{s}",
        "no_agents": "Aucun conseiller n’est en ligne pour l’instant. Vous gardez votre place, "
                     "numéro {position}, et le premier conseiller connecté prendra votre appel.",
        "person": "Bien sûr : vous êtes dans la file pour un conseiller, numéro {position}. "
                  "Je reste avec vous jusqu’à ce qu’il prenne le relais.",
        "ended": "Cet appel est terminé. Lancez un nouvel appel quand vous voulez, un conseiller "
                 "vous aidera.",
        "message": "Je vous écoute : dites-moi votre message, je le transmettrai au conseiller.",
        "noted": "Merci, votre message est noté : le conseiller le verra.",
        "unknown": "Je ne sais pas répondre à cela, mais je l’ai noté pour le conseiller qui "
                   "prendra votre appel.",
        "unknown_after": "Je ne sais pas répondre à cela. Lancez un nouvel appel, un conseiller "
                         "vous aidera.",
        "handover": "Je vous passe {agent}.",
        "handover_questions": "Je vous passe {agent}, qui voit vos questions.",
        "suggest_wait": "Combien de temps d’attente ?",
        "suggest_person": "Je voudrais parler à quelqu’un",
        "suggest_message": "Je voudrais laisser un message",
    },
}


def words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


class Assistant:
    """Answers from the company's FAQ (one per language) and what the queue says; with a
    ``chat`` model, its words from the FAQ's closest entries when the first of them comes within
    ``chat_budget`` seconds (else the FAQ's answer)."""

    def __init__(self, faqs: dict[str, Faq], chat: ChatModel | None = None,
                 chat_budget: float = 2.0) -> None:
        self.faqs = faqs
        self.chat = chat
        self.chat_budget = chat_budget

    def faq(self, language: str) -> Faq | None:
        return self.faqs.get(language) or self.faqs.get("en")

    def reply(self, question: str, language: str, waiting: Waiting | None, *,
              expecting_message: bool = False) -> Reply:
        say = words(language)
        if expecting_message:
            return Reply(say["noted"], ReplyKind.NOTED, open=True)
        intent = intent_of(question, language)
        if intent is Intent.MESSAGE:
            return Reply(say["message"], ReplyKind.MESSAGE)
        if intent in (Intent.WAIT, Intent.PERSON):
            kind = ReplyKind.WAIT if intent is Intent.WAIT else ReplyKind.PERSON
            return Reply(self._wait(say, waiting, kind), kind)
        faq = self.faqs.get(language) or self.faqs.get("en")
        match = faq.best(question) if faq else None
        if match is not None:
            return Reply(match.entry.answer, ReplyKind.FAQ, entry=match.entry.id)
        if waiting is None:
            return Reply(say["unknown_after"], ReplyKind.UNKNOWN)
        return Reply(say["unknown"], ReplyKind.UNKNOWN, open=True)

    def meaning(self, question: str, language: str) -> str | None:
        """What answers ``question``: a live intent (``wait``, ``person``, ``message``) or a
        FAQ entry's id; None: it is kept for the advisor. (A speech recogniser weighs its
        guesses at what was said by what they mean.)"""
        intent = intent_of(question, language)
        if intent is not None:
            return str(intent)
        faq = self.faq(language)
        match = faq.best(question) if faq else None
        return match.entry.id if match else None

    @staticmethod
    def _wait(say: dict[str, str], waiting: Waiting | None, kind: ReplyKind) -> str:
        if waiting is None:
            return say["ended"]
        if waiting.agents_online == 0:
            return say["no_agents"].format(position=waiting.position)
        if kind is ReplyKind.PERSON:
            return say["person"].format(position=waiting.position)
        wait = ""
        if waiting.estimated_wait is not None:
            minutes = max(1, math.ceil(waiting.estimated_wait / 60))
            wait = say["wait_minutes"].format(minutes=minutes, s="s" if minutes > 1 else "")
        return say["wait"].format(position=waiting.position, wait=wait)

    def suggestions(self, language: str, waiting: bool) -> list[str]:
        """Quick replies for the page: about the wait (while waiting), then the FAQ's first
        entries' first questions."""
        say = words(language)
        about_wait = [say["suggest_wait"], say["suggest_person"], say["suggest_message"]]
        faq = self.faqs.get(language) or self.faqs.get("en")
        asked = [e.questions[0] for e in faq.entries[:3]] if faq else []
        return (about_wait if waiting else []) + asked

    @staticmethod
    def handover(language: str, agent: str, open_questions: bool) -> str:
        return words(language)["handover_questions" if open_questions else "handover"].format(
            agent=agent)
