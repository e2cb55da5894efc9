"""``ChatModel``: an OpenAI-compatible chat endpoint the operator sets (``AVATARCALL_CHAT_URL``),
asked with the FAQ's best entries as what it may say, its answer streamed sentence by sentence.

It speaks the wire protocol itself (``POST {url}/chat/completions`` with ``stream: true``, the
server's ``data: {...}`` lines, ``data: [DONE]``), through ``httpx``: any server that speaks it
serves (a hosted one, vLLM, llama.cpp's server, Ollama's OpenAI endpoint). The only I/O of the
assistant package.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncGenerator, Sequence

import httpx

from avatarcall.assistant.faq import FaqEntry

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")

PROMPTS = {
    "en": "You are the virtual assistant of a company's customer service, talking to a customer "
          "who waits for an advisor. Answer in English, in one to three short spoken sentences, "
          "only from the facts below. If they do not answer the question, say that the advisor "
          "will answer it.\n\nFacts:\n{facts}",
    "fr": "Tu es l'assistant virtuel du service client d'une entreprise et tu parles à un client "
          "qui attend un conseiller. Réponds en français, en une à trois phrases courtes à dire à "
          "voix haute, uniquement à partir des faits ci-dessous. S'ils ne répondent pas à la "
          "question, dis que le conseiller y répondra.\n\nFaits :\n{facts}",
}


class ChatError(RuntimeError):
    """The chat endpoint could not answer (the FAQ's answer is given instead)."""


class ChatModel:
    def __init__(self, url: str, model: str, api_key: str | None = None,
                 client: httpx.AsyncClient | None = None) -> None:
        self.url = url.rstrip("/") + "/chat/completions"
        self.model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0))

    async def close(self) -> None:
        await self._client.aclose()

    def messages(self, question: str, language: str,
                 facts: Sequence[FaqEntry]) -> list[dict[str, str]]:
        lines = "\n".join(f"- {e.questions[0]} {e.answer}" for e in facts) or "-"
        prompt = PROMPTS.get(language, PROMPTS["en"]).format(facts=lines)
        return [{"role": "system", "content": prompt}, {"role": "user", "content": question}]

    async def sentences(self, question: str, language: str,
                        facts: Sequence[FaqEntry]) -> AsyncGenerator[str, None]:
        """The answer, a sentence at a time as it streams in."""
        body = {"model": self.model, "stream": True, "temperature": 0.2, "max_tokens": 160,
                "messages": self.messages(question, language, facts)}
        pending = ""
        try:
            async with self._client.stream("POST", self.url, json=body,
                                           headers=self._headers) as response:
                if response.status_code != 200:
                    raise ChatError(f"the chat endpoint answered {response.status_code}")
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    pending += _delta(data)
                    *done, pending = _SENTENCE_END.split(pending)
                    for sentence in done:
                        if sentence.strip():
                            yield sentence.strip()
        except httpx.HTTPError as exc:
            raise ChatError(f"the chat endpoint could not be reached: {exc}") from None
        if pending.strip():
            yield pending.strip()


def _delta(data: str) -> str:
    try:
        chunk = json.loads(data)
        return chunk["choices"][0].get("delta", {}).get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ChatError(f"the chat endpoint sent something else than a chunk: {data[:80]!r}") from None
