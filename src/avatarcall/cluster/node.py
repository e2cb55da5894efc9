"""``Node``: this server among several, as the others reach it through Redis.

- A heartbeat key (``{p}alive:{node}``, expiring after ``ALIVE_SECONDS``) says it runs: what a
  dead node held (avatar sessions) is taken back by the others.
- Its channel (``{p}node:{node}``) brings what other nodes send it: messages for its browser
  tabs, and calls (requests with an id, answered on the caller's channel) for what only it can
  do (command the avatar workers connected to it). ``{p}all`` reaches every node.

Pub/sub is for what may be lost with a node anyway (a tab on a dead node reconnects elsewhere);
what must survive lives in keys.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)

ALIVE_SECONDS = 4
BEAT_SECONDS = 1.0
CALL_TIMEOUT = 10.0
CALL_CHECK_SECONDS = 1.0  # while a call waits, how often the node asked is checked for life

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def text(reply: Any) -> str:
    """A Redis reply as text: the clients here keep replies as bytes (``decode_responses``
    off, for the call logs' JSON), which redis-py's types cannot tell from ``str``."""
    return reply.decode() if isinstance(reply, bytes) else str(reply)


class NodeGone(Exception):
    """The node asked did not answer (it died, or Redis lost the message)."""


class Node:
    def __init__(self, redis: Redis, node_id: str | None = None, prefix: str = "ac:") -> None:
        self.redis = redis
        self.id = node_id or f"{socket.gethostname()}-{os.getpid()}"
        self.prefix = prefix
        self._handlers: dict[str, Handler] = {}
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Future[None]] = set()
        self._ready = asyncio.Event()

    def channel(self, node: str) -> str:
        return f"{self.prefix}node:{node}"

    def on(self, kind: str, handler: Handler) -> None:
        """``handler(message)`` for messages of ``kind``; what it returns answers a call."""
        self._handlers[kind] = handler

    async def start(self) -> None:
        await self._beat_once()
        self._tasks = [asyncio.get_running_loop().create_task(self._listen(), name="node-listen"),
                       asyncio.get_running_loop().create_task(self._beat(), name="node-beat")]
        await asyncio.wait_for(self._ready.wait(), 10)

    async def close(self) -> None:
        tasks = [*self._tasks, *self._spawned]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.redis.delete(f"{self.prefix}alive:{self.id}")

    async def listening(self) -> None:
        """Raises unless this node hears the others (``/readyz``)."""
        if not self._ready.is_set():
            raise ConnectionError("not subscribed to its channel")

    async def alive(self, node: str) -> bool:
        return node == self.id or bool(await self.redis.exists(f"{self.prefix}alive:{node}"))

    async def _beat_once(self) -> None:
        await self.redis.set(f"{self.prefix}alive:{self.id}", "1", ex=ALIVE_SECONDS)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(BEAT_SECONDS)
            try:
                await self._beat_once()
            except Exception:  # noqa: BLE001 (Redis away: /readyz says so; the beat resumes)
                log.warning("node %s: no heartbeat (Redis unreachable)", self.id)

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel(self.id), f"{self.prefix}all")
                    self._ready.set()
                    async for item in pubsub.listen():
                        if item["type"] == "message":
                            await self._dispatch(json.loads(item["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 (Redis away: /readyz says so until it is back)
                self._ready.clear()
                log.warning("node %s: lost its channel; listening again", self.id)
                await asyncio.sleep(0.2)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "reply":
            future = self._waiting.pop(message["id"], None)
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(RemoteError(message["error"]))
                else:
                    future.set_result(message.get("result"))
            return
        handler = self._handlers.get(message.get("kind", ""))
        if handler is None:
            return
        if "reply_to" not in message:
            self._own(self._safely(handler, message))
            return

        async def answer() -> None:
            reply: dict[str, Any] = {"kind": "reply", "id": message["id"]}
            try:
                reply["result"] = await handler(message)
            except Exception as exc:  # noqa: BLE001 (carried back to the caller)
                reply["error"] = {"type": type(exc).__name__, "code": getattr(exc, "code", None),
                                  "message": getattr(exc, "message", str(exc)),
                                  "retryable": getattr(exc, "retryable", False)}
            await self.redis.publish(self.channel(message["reply_to"]), json.dumps(reply))

        self._own(answer())

    def spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` as a task of this node's (cancelled when it closes); a failure is
        logged."""
        async def logged() -> None:
            try:
                await work
            except Exception:
                log.exception("node task failed")
        self._own(logged())

    def _own(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    @staticmethod
    async def _safely(handler: Handler, message: dict[str, Any]) -> None:
        try:
            await handler(message)
        except Exception:
            log.exception("node message %s failed", message.get("kind"))

    async def send(self, node: str, kind: str, **fields: Any) -> None:
        """A message to ``node`` (``"*"``: every node); nobody answers."""
        target = f"{self.prefix}all" if node == "*" else self.channel(node)
        await self.redis.publish(target, json.dumps({"kind": kind, **fields}))

    async def call(self, node: str, kind: str, **fields: Any) -> Any:
        """Ask ``node`` and wait for its answer; raises :class:`NodeGone` without one: at once
        when nothing listens on its channel (a dead node's connection to Redis is closed by its
        kernel), as soon as its heartbeat has expired (a hung node), or after ``CALL_TIMEOUT``."""
        loop = asyncio.get_running_loop()
        call_id = next(self._ids)
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting[call_id] = future
        try:
            listeners = await self.redis.publish(self.channel(node), json.dumps(
                {"kind": kind, "id": call_id, "reply_to": self.id, **fields}))
            if not listeners:
                raise NodeGone(f"node {node} is not listening")
            deadline = loop.time() + CALL_TIMEOUT
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(future), CALL_CHECK_SECONDS)
                except TimeoutError:
                    if loop.time() >= deadline:
                        raise NodeGone(f"node {node} did not answer") from None
                    if not await self.alive(node):
                        raise NodeGone(f"node {node} stopped beating") from None
        finally:
            self._waiting.pop(call_id, None)


class RemoteError(Exception):
    """An error raised on the node that was asked, as plain data."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "remote error"))
        self.error = error
