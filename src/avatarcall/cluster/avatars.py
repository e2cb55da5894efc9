"""``RoutedAvatarControl``: avatars started by any node, on any node's workers, commanded from
any node.

Each node's ``WorkerPool`` holds the workers that dialled in to it (its local worker processes,
and workers from other machines, through the load balancer). Each node says in Redis how many
more sessions its workers have room for (``{p}room``, node -> free); an avatar starts on this
node's workers if they have room, else on the node with the most. Wherever it runs, the lease
says so: ``{p}lease:{key}`` -> ``node|epoch``; a command for it goes to that node
(``Node.call``). When a slot frees anywhere, every node hears it (its calls in line may go).

A node that dies takes its local workers with it, but a worker from another machine dials again
(to another node) keeping its sessions, and that node takes back those whose lease is still
theirs (``may_adopt``): their viewers never noticed. An avatar whose node is gone and that no
worker brought back has no epoch any more: the director starts a new one (when a page comes
back or offers for it).

Events (failures, link states) reach the director of the node whose worker runs the avatar: it
restarts it, tells the pages (through the shared peer bus).
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
    SlotFreed,
)
from avatarcall.cluster.node import ALIVE_SECONDS, Node, NodeGone, RemoteError, text
from avatarcall.errors import AvatarCallError, AvatarUnavailable

log = logging.getLogger(__name__)

LEASE_SECONDS = 24 * 3600  # an avatar's lease outlives any call; stop() removes it
FENCE_SECONDS = 2.0
UNCOUNTED = 1000  # the room said of avatars in a node's own process without a cap

# KEYS: the lease. ARGV: this node, the epoch, ttl. The lease becomes this node's if it has that
# epoch (on whichever node) or none (its dead node's was cleared); 1 if so.
_ADOPT = """
local current = redis.call('GET', KEYS[1])
if current and string.match(current, '|(%d+)$') ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[3])
return 1
"""


class RoutedAvatarControl:
    def __init__(self, node: Node, local: AvatarControl) -> None:
        self.node = node
        self.local = local
        self._redis = node.redis
        self._p = node.prefix
        node.on("avatar", self._serve)
        node.on("avatar-room", self._room_elsewhere)
        self._fence: asyncio.Task[None] | None = None
        self._adopt = self._redis.register_script(_ADOPT)
        self._events: asyncio.Queue[AvatarEvent] = asyncio.Queue()  # here, and slots elsewhere

    def _key(self, key: str) -> str:
        return f"{self._p}lease:{key}"

    async def _lease(self, key: str) -> tuple[str, int] | None:
        """(node, epoch) of ``key``'s avatar, if its node still runs."""
        raw = await self._redis.get(self._key(key))
        if raw is None:
            return None
        node, epoch = text(raw).rsplit("|", 1)
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
            if await self._moved(key, lease):  # its worker went to another node
                return await self._on(key, op, **fields)
            raise AvatarUnavailable("The avatar's node does not answer.") from None

    async def _moved(self, key: str, lease: tuple[str, int]) -> bool:
        """Whether ``key``'s avatar, whose node is gone, is taken back elsewhere: its worker
        dials another node within a second or so, which adopts it; by the time the dead node's
        heartbeat has expired, it is done or will not be."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ALIVE_SECONDS + 1.0
        while (now := await self._lease(key)) == lease and loop.time() < deadline:
            await asyncio.sleep(0.25)
        return now is not None and now != lease

    async def _serve(self, message: dict[str, Any]) -> Any:
        """Another node's command for an avatar this node started."""
        fields = {k: v for k, v in message.items() if k not in ("kind", "op", "key", "id",
                                                                "reply_to")}
        return await self._local(message["op"], message["key"], fields)

    async def _local(self, op: str, key: str, fields: dict[str, Any]) -> Any:
        match op:
            case "start":
                return await self._start_here(key, fields["language"])
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
                await self._tell_room()
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
        try:
            return await self._start_here(key, language)
        except AvatarUnavailable:
            node = await self._node_with_room()
            if node is None:
                raise
        log.info("avatar %s: no room here, started on node %s", key, node)
        try:
            return int(await self.node.call(node, "avatar", op="start", key=key,
                                            language=language))
        except RemoteError as exc:
            raise AvatarUnavailable(exc.error["message"], code=exc.error.get("code")
                                    or AvatarUnavailable.code) from None
        except NodeGone:
            raise AvatarUnavailable("The node with room for the avatar does not answer.") from None

    async def _start_here(self, key: str, language: str) -> int:
        self._keep_fenced()
        epoch = await self.local.start(key, language)
        await self._redis.set(self._key(key), f"{self.node.id}|{epoch}", ex=LEASE_SECONDS)
        return epoch

    async def may_adopt(self, key: str, epoch: int) -> bool:
        """A worker that dialled in here kept ``key``'s avatar through a cut: it is this node's
        now, unless it was started again meanwhile."""
        self._keep_fenced()
        taken = int(await self._adopt(keys=[self._key(key)],
                                      args=[self.node.id, epoch, LEASE_SECONDS]))
        log.info("avatar %s epoch %d kept by its worker: %s", key, epoch,
                 "taken back" if taken else "started again meanwhile, stopped")
        return bool(taken)

    async def _node_with_room(self) -> str | None:
        """The live node (not this one) whose workers have the most room, if any have."""
        best, most = None, 0
        for node, free in (await self._redis.hgetall(f"{self._p}room")).items():
            name = text(node)
            if name != self.node.id and int(free) > most and await self.node.alive(name):
                best, most = name, int(free)
        return best

    async def _tell_room(self) -> None:
        load = self.local.load()
        free = UNCOUNTED if load.capacity is None else max(0, load.capacity - load.sessions)
        await self._redis.hset(f"{self._p}room", self.node.id, free)

    async def _room_elsewhere(self, message: dict[str, Any]) -> None:
        if message.get("origin") != self.node.id:
            self._events.put_nowait(SlotFreed("", 0))

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

    async def running(self) -> list[tuple[str, int]]:
        """The avatars running on this node's workers."""
        return await self.local.running()

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
        """This node's avatars' events (a failed one's lease goes with it), and a slot freed on
        another node (this node's calls in line may go there)."""
        self._keep_fenced()  # and this node's room told from now on
        pump = asyncio.get_running_loop().create_task(self._pump_local())
        try:
            while True:
                yield await self._events.get()
        finally:
            pump.cancel()

    async def _pump_local(self) -> None:
        async for event in self.local.events():
            try:
                if isinstance(event, AvatarFailed) and await self._redis.get(
                        self._key(event.key)) == f"{self.node.id}|{event.epoch}".encode():
                    await self._redis.delete(self._key(event.key))
                if isinstance(event, SlotFreed):
                    await self._tell_room()
                    await self.node.send("*", "avatar-room", origin=self.node.id)
            except Exception:  # noqa: BLE001 (Redis away: the event still counts here)
                log.warning("avatar event %s: Redis not told", type(event).__name__)
            self._events.put_nowait(event)

    def load(self) -> AvatarLoad:
        return self.local.load()

    async def close(self) -> None:
        if self._fence is not None:
            self._fence.cancel()
            await asyncio.gather(self._fence, return_exceptions=True)
        await self.local.close()
