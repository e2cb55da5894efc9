"""``RoutedAvatarControl``: avatars started by any node, commanded from any node.

Each node starts the avatars it is asked for on its own workers (its ``WorkerPool``: local
worker processes and workers from other machines that dialled in to it), and says so in Redis:
``{p}lease:{key}`` -> ``node|epoch``. A command for an avatar another node started goes to that
node (``Node.call``). An avatar whose node is gone has no epoch any more: the director starts a
new one where it runs (when a page comes back or offers for it).

Events (failures, link states, freed slots) reach the director of the node that started the
avatar: it restarts it, tells the pages (through the shared peer bus), serves its line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from avatarcall.avatar.control import (
    AvatarControl,
    AvatarEvent,
    AvatarFailed,
    AvatarLoad,
    Fault,
)
from avatarcall.cluster.node import Node, NodeGone, RemoteError
from avatarcall.errors import AvatarCallError, AvatarUnavailable

log = logging.getLogger(__name__)

LEASE_SECONDS = 24 * 3600  # an avatar's lease outlives any call; stop() removes it
FENCE_SECONDS = 2.0


class RoutedAvatarControl:
    def __init__(self, node: Node, local: AvatarControl) -> None:
        self.node = node
        self.local = local
        self._redis = node.redis
        self._p = node.prefix
        node.on("avatar", self._serve)
        self._fence: asyncio.Task[None] | None = None

    def _key(self, key: str) -> str:
        return f"{self._p}lease:{key}"

    async def _lease(self, key: str) -> tuple[str, int] | None:
        """(node, epoch) of ``key``'s avatar, if its node still runs."""
        raw = await self._redis.get(self._key(key))
        if raw is None:
            return None
        node, epoch = raw.decode().rsplit("|", 1)
        if not await self.node.alive(node):
            log.info("avatar of %s was on node %s, which is gone", key, node)
            await self._redis.delete(self._key(key))
            return None
        return node, int(epoch)

    async def _on(self, key: str, op: str, **fields: Any) -> Any:
        """Run ``op`` where ``key``'s avatar runs."""
        lease = await self._lease(key)
        if lease is None:
            raise AvatarUnavailable("This avatar is not running.")
        node, _ = lease
        if node == self.node.id:
            return await self._local(op, key, fields)
        try:
            return await self.node.call(node, "avatar", op=op, key=key, **fields)
        except RemoteError as exc:
            error = exc.error
            raise AvatarCallError(error["message"], code=error.get("code") or "internal",
                                  retryable=bool(error.get("retryable"))) from None
        except NodeGone:
            raise AvatarUnavailable("The avatar's node does not answer.") from None

    async def _serve(self, message: dict[str, Any]) -> Any:
        """Another node's command for an avatar this node started."""
        fields = {k: v for k, v in message.items() if k not in ("kind", "op", "key", "id",
                                                                "reply_to")}
        return await self._local(message["op"], message["key"], fields)

    async def _local(self, op: str, key: str, fields: dict[str, Any]) -> Any:
        match op:
            case "stop":
                await self.local.stop(key)
            case "say":
                await self.local.say(key, fields["text"], when_watched=fields["when_watched"],
                                     language=fields.get("language"),
                                     append=fields.get("append", False))
            case "interrupt":
                await self.local.interrupt(key)
            case "use_voice":
                await self.local.use_voice(key, fields["viewer"])
            case "answer":
                return await self.local.answer(key, fields["epoch"], fields["viewer"],
                                               fields["sdp"], audience=fields["audience"])
            case "drop_viewer":
                await self.local.drop_viewer(key, fields["viewer"])
            case "fault":
                return await self.local.fault(key, fields["fault"])
        return None

    # --- AvatarControl ----------------------------------------------------------------------

    def _keep_fenced(self) -> None:
        if self._fence is None:
            self._fence = asyncio.get_running_loop().create_task(self._fencing())

    async def _fencing(self) -> None:
        """An avatar of this node whose lease is no longer this node's (another node thought
        this one dead and started the call's avatar again) is stopped: never two for a call."""
        while True:
            await asyncio.sleep(FENCE_SECONDS)
            try:
                for key, epoch in await self.local.running():
                    lease = await self._redis.get(self._key(key))
                    if lease != f"{self.node.id}|{epoch}".encode():
                        log.warning("avatar %s epoch %s is no longer this node's: stopped",
                                    key, epoch)
                        await self.local.stop(key)
            except Exception:
                log.debug("avatar fencing round failed", exc_info=True)

    async def start(self, key: str, language: str) -> int:
        self._keep_fenced()
        await self.stop(key)
        epoch = await self.local.start(key, language)
        await self._redis.set(self._key(key), f"{self.node.id}|{epoch}", ex=LEASE_SECONDS)
        return epoch

    async def stop(self, key: str) -> None:
        lease = await self._lease(key)
        await self._redis.delete(self._key(key))
        if lease is None:
            return
        node, _ = lease
        if node == self.node.id:
            await self.local.stop(key)
            return
        try:
            await self.node.call(node, "avatar", op="stop", key=key)
        except (NodeGone, RemoteError) as exc:
            log.info("avatar %s: stop on node %s: %s", key, node, exc)

    async def epoch(self, key: str) -> int | None:
        lease = await self._lease(key)
        return lease[1] if lease is not None else None

    async def say(self, key: str, text: str, *, when_watched: bool = False,
                  language: str | None = None, append: bool = False) -> None:
        await self._on(key, "say", text=text, when_watched=when_watched, language=language,
                       append=append)

    async def interrupt(self, key: str) -> None:
        try:
            await self._on(key, "interrupt")
        except AvatarUnavailable:
            pass

    async def use_voice(self, key: str, viewer: str | None) -> None:
        await self._on(key, "use_voice", viewer=viewer)

    async def answer(self, key: str, epoch: int, viewer: str, sdp: str, *, audience: bool) -> str:
        lease = await self._lease(key)
        if lease is None or lease[1] != epoch:
            raise AvatarUnavailable("This avatar is not running any more; wait for the next one.")
        return str(await self._on(key, "answer", epoch=epoch, viewer=viewer, sdp=sdp,
                                  audience=audience))

    async def drop_viewer(self, key: str, viewer: str) -> None:
        try:
            await self._on(key, "drop_viewer", viewer=viewer)
        except AvatarUnavailable:
            pass

    async def fault(self, key: str, kind: Fault) -> int:
        return int(await self._on(key, "fault", fault=kind))

    async def events(self) -> AsyncIterator[AvatarEvent]:  # type: ignore[override]
        """This node's avatars' events; a failed one's lease goes with it."""
        async for event in self.local.events():
            if isinstance(event, AvatarFailed) and await self._redis.get(
                    self._key(event.key)) == f"{self.node.id}|{event.epoch}".encode():
                await self._redis.delete(self._key(event.key))
            yield event

    def load(self) -> AvatarLoad:
        return self.local.load()

    async def close(self) -> None:
        if self._fence is not None:
            self._fence.cancel()
            await asyncio.gather(self._fence, return_exceptions=True)
        await self.local.close()
