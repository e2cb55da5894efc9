"""A small OpenAI-compatible server on loopback, for tests, standing in for a paid cloud API:
chat (``POST /v1/chat/completions``, the streaming protocol: ``data: {...}`` lines, ``data:
[DONE]``), answering from the facts the system prompt gives it, word by word; and transcription
(``POST /v1/audio/transcriptions``, a multipart WAV upload), answering ``transcript`` for any
WAV it gets. What it was asked is kept; ``first_delay`` and ``status`` play a slow or a broken
model."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from avatarcall.testing.services import free_port


class ChatServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.first_delay = 0.0
        self.status = 200
        self.transcript = ""
        self.uploads: list[tuple[dict[str, str], bytes]] = []  # (form fields, the WAV file)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        app = FastAPI()
        app.post("/v1/chat/completions")(self._complete)
        app.post("/v1/audio/transcriptions")(self._transcribe)
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> ChatServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the chat server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    @staticmethod
    def answer(system: str) -> str:
        """What it says: the first fact's answer, prefaced (so a test tells it from the FAQ's)."""
        facts = [line[2:] for line in system.splitlines() if line.startswith("- ")]
        fact = facts[0].split("? ", 1)[-1] if facts and facts[0] != "-" else "I do not know."
        return f"Good question. {fact} Anything else?"

    async def _transcribe(self, request: Request):
        """The multipart body read by hand (no multipart package needed)."""
        boundary = request.headers["content-type"].split("boundary=", 1)[1].encode()
        fields: dict[str, str] = {}
        wav = b""
        for part in (await request.body()).split(b"--" + boundary):
            head, _, data = part.partition(b"\r\n\r\n")
            name = re.search(rb'name="([^"]+)"', head)
            if name is None:
                continue
            data = data.removesuffix(b"\r\n")
            if name.group(1) == b"file":
                wav = data
            else:
                fields[name.group(1).decode()] = data.decode()
        self.uploads.append((fields, wav))
        if self.status != 200 or not wav.startswith(b"RIFF"):
            return JSONResponse({"error": {"message": "no"}}, self.status if self.status != 200 else 400)
        return {"text": self.transcript}

    async def _complete(self, request: Request):
        body = await request.json()
        self.requests.append(body)
        if self.status != 200:
            return JSONResponse({"error": {"message": "broken on purpose"}}, self.status)
        words = self.answer(body["messages"][0]["content"]).split(" ")

        async def stream():
            await asyncio.sleep(self.first_delay)
            for i, word in enumerate(words):
                delta = {"content": (" " if i else "") + word}
                chunk = {"id": "c1", "object": "chat.completion.chunk", "model": body["model"],
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
                await asyncio.sleep(0.01)
            yield "data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")
