"""``Conversations``: the customer talks to the assistant while waiting (and after the call),
by text or by voice; the agent who takes the call gets the conversation and what was left for
them, and the assistant says who takes over.

Every turn is an entry of the call's timeline (``conversation``), so any node can hand it over
and the dashboard shows it; the answers come from :mod:`avatarcall.assistant` and are spoken by
the avatar when the customer sees and hears it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from avatarcall.assistant import Assistant, Reply, ReplyKind
from avatarcall.assistant.chat import ChatError
from avatarcall.avatar.control import Heard
from avatarcall.calls.journal import ConversationEntry, EntryKind
from avatarcall.calls.models import Call, Role
from avatarcall.calls.state import CallState
from avatarcall.errors import AvatarCallError, BadMessage, NotAllowed
from avatarcall.flow.director import AvatarDirector
from avatarcall.flow.ports import CallRepository, PeerBus
from avatarcall.flow.queue import QueueTeller
from avatarcall.signaling import messages as m

log = logging.getLogger(__name__)

CHAT_LONGEST = 20.0  # seconds a chat model's whole answer may take to stream in


def clean(text: str) -> str:
    """The words as shown and kept: control characters out, spaces collapsed."""
    kept = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    return " ".join(kept.split())


def _item(at: float, detail: dict[str, Any]) -> m.ConversationItem:
    return m.ConversationItem(role=detail["role"], text=detail["text"], at=at,
                              open=bool(detail.get("open")), spoken=bool(detail.get("spoken")))


class Conversations:
    def __init__(self, assistant: Assistant, repo: CallRepository, bus: PeerBus,
                 queue: QueueTeller, director: AvatarDirector,
                 clock: Callable[[], float] = time.time) -> None:
        self.assistant = assistant
        self._clock = clock
        self._repo = repo
        self._bus = bus
        self._queue = queue
        self._director = director

    async def ask(self, call: Call, role: Role, text: str, *, spoken: bool = False) -> Reply:
        """The customer's words to the assistant; its answer, told to the page and spoken."""
        if role is not Role.CUSTOMER:
            raise NotAllowed("Only the customer talks to the assistant.")
        if call.state not in (CallState.WAITING, CallState.ENDED):
            raise NotAllowed("The assistant steps aside during the call: the agent is listening.")
        words = clean(text)
        if not words:
            raise BadMessage("text: say something")
        before = await self._repo.entries(call.id, EntryKind.CONVERSATION)
        expecting = bool(before) and before[-1][1].get("answer") == ReplyKind.MESSAGE.value
        waiting = await self._queue.place(call.id) if call.state is CallState.WAITING else None
        reply = self.assistant.reply(words, call.language, waiting, expecting_message=expecting)
        await self._turn(call.id, ConversationEntry(
            role="customer", text=words, open=reply.open or None, spoken=spoken or None))
        chatted = None
        if self.assistant.chat is not None and reply.kind in (ReplyKind.FAQ, ReplyKind.UNKNOWN):
            chatted = await self._chat(call, words, reply)  # spoken as it streams in
        if chatted is None:  # the panel shows it: no captions
            await self._director.speak_to_customer(call, reply.text, caption=False)
        reply = chatted or reply
        await self._turn(call.id, ConversationEntry(
            role="assistant", text=reply.text, answer=reply.kind.value, entry=reply.entry))
        log.info("assistant answered call=%s kind=%s entry=%s spoken=%s", call.id,
                 reply.kind.value, reply.entry, spoken)
        return reply

    async def _chat(self, call: Call, question: str, fallback: Reply) -> Reply | None:
        """The chat model's answer from the FAQ's closest entries, spoken sentence by sentence;
        None (the FAQ's answer instead) when its first words take longer than the budget or it
        fails."""
        chat = self.assistant.chat
        assert chat is not None
        faq = self.assistant.faq(call.language)
        facts = faq.top(question) if faq else []
        stream = chat.sentences(question, call.language, facts)
        try:
            first = await asyncio.wait_for(anext(stream), self.assistant.chat_budget)
        except (TimeoutError, ChatError, StopAsyncIteration) as exc:
            await stream.aclose()
            log.warning("chat model not used call=%s: %s", call.id, exc or "no words in time")
            return None
        said = [first]
        await self._director.speak_to_customer(call, first, caption=False)
        try:
            async with asyncio.timeout(CHAT_LONGEST):
                async for sentence in stream:
                    said.append(sentence)
                    await self._director.speak_to_customer(call, sentence, caption=False,
                                                           append=True)
        except (TimeoutError, ChatError) as exc:
            log.warning("chat model cut short call=%s: %s", call.id, exc or "too long")
        finally:
            await stream.aclose()
        return Reply(" ".join(said), ReplyKind.CHAT, entry=fallback.entry, open=fallback.open)

    async def heard(self, event: Heard) -> None:
        """The customer said this aloud (their avatar link's microphone)."""
        call = await self._repo.get(event.key)
        if call is None or await self._director.epoch(call.id) != event.epoch:
            return  # an older avatar's, or a call gone
        try:
            await self.ask(call, Role.CUSTOMER, event.text, spoken=True)
        except AvatarCallError as exc:
            log.info("spoken words not taken call=%s: %s", call.id, exc)

    async def history(self, call_id: str) -> m.ConversationHistory:
        entries = await self._repo.entries(call_id, EntryKind.CONVERSATION)
        items = [_item(at, detail) for at, detail in entries]
        return m.ConversationHistory(call_id=call_id, items=items,
                                     open=[i.text for i in items if i.open])

    async def page_joined(self, call: Call, role: Role) -> None:
        """A page (back) on the call sees the conversation so far (the agent: its hand-over;
        the customer: with quick replies)."""
        history = await self.history(call.id)
        if role is Role.CUSTOMER:
            await self._bus.send(call.id, role, history.model_copy(update={
                "suggestions": self.assistant.suggestions(
                    call.language, waiting=call.state is CallState.WAITING)}))
        elif history.items:
            await self._bus.send(call.id, role, history)

    async def handed_over(self, call: Call) -> None:
        """The agent took the call: they get the conversation; the assistant says who it is."""
        history = await self.history(call.id)
        if history.items:
            await self._bus.send(call.id, Role.AGENT, history)
        if call.agent is not None:
            text = self.assistant.handover(call.language, call.agent.name, bool(history.open))
            await self._director.speak_to_customer(call, text, caption=True)

    async def _turn(self, call_id: str, entry: ConversationEntry) -> None:
        now = self._clock()
        await self._repo.add_event(call_id, entry, at=now)
        item = _item(now, entry.detail())
        for role in Role:
            if await self._bus.present(call_id, role):
                await self._bus.send(call_id, role, m.ConversationTurn(call_id=call_id, item=item))
