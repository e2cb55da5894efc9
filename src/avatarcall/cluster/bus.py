"""``RedisPeerBus``: browser tabs on any node, addressed by (call, role).

Each node keeps its own tabs' sockets (a ``LocalPeerBus``); who is which participant of which
call is shared in Redis (``{p}bind:{call}``: role -> tab). A tab's id starts with its node's
(``node/uuid``), so a message for a tab on another node is published on that node's channel
and delivered there. A change of the queue is broadcast: each node tells its own tabs.

What a participant is sent goes first into the call's log for them (``{p}log:{call}:{role}``, a
stream numbered by ``{p}seq:{call}:{role}``); the node holding their tab is only woken up
(``pull``) and sends the tab what follows its cursor, in order. A wake-up lost with a node's
channel costs nothing but time: the next one, or the tab coming back with the last number it
saw (on any node), gets the rest, once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

from avatarcall.calls.models import Role
from avatarcall.cluster.node import Node, text
from avatarcall.flow.bus import LOG_KEPT, LocalPeerBus, Outlet
from avatarcall.flow.ports import Tab
from avatarcall.signaling import messages as m

SEPARATOR = "/"
LOG_TTL = 24 * 3600  # seconds: a call's logs outlive a call never forgotten (its nodes all died)

# KEYS: the participant's number, their log, the call's bindings. ARGV: role, message, how many
# to keep, ttl. Returns the message's number and the participant's tab (or nil).
_LOG = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], n .. '-0', 'm', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {n, redis.call('HGET', KEYS[3], ARGV[1])}
"""

# KEYS: bind hash. ARGV: role, tab (only remove if it is this tab; "" for any).
_UNBIND = """
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if not holder then return '' end
if ARGV[2] ~= '' and holder ~= ARGV[2] then return '' end
redis.call('HDEL', KEYS[1], ARGV[1])
return holder
"""


def _node_of(tab: str) -> str:
    return tab.split(SEPARATOR, 1)[0]


class RedisPeerBus:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.local = LocalPeerBus()
        self._redis = node.redis
        self._p = node.prefix
        self._unbind = self._redis.register_script(_UNBIND)
        self._log = self._redis.register_script(_LOG)
        self._cursor: dict[str, int] = {}  # this node's tabs -> the last number each was sent
        self._pulling: dict[str, asyncio.Lock] = {}  # one pull at a time per tab: in order
        self._queue_watchers: list[Callable[[], Awaitable[None]]] = []
        node.on("tab", self._deliver)
        node.on("queue", self._queue_changed_elsewhere)

    # --- the transport's side ---------------------------------------------------------------

    def new_tab_id(self) -> str:
        return f"{self.node.id}{SEPARATOR}{uuid.uuid4().hex}"

    def attach(self, tab: Tab, outlet: Outlet) -> None:
        self.local.attach(tab, outlet)
        if tab.role is Role.AGENT:
            self._agents_changed()

    def detach(self, tab: str) -> Tab | None:
        self._cursor.pop(tab, None)
        self._pulling.pop(tab, None)
        gone = self.local.detach(tab)
        if gone is not None and gone.role is Role.AGENT:
            self._agents_changed()
        return gone

    def _agents_changed(self) -> None:
        """This node's count of agents in Redis (a hash per node; nodes gone are not counted)."""
        async def publish() -> None:
            await self._redis.hset(f"{self._p}agents", self.node.id,
                                   await self.local.agents_online())
        self.node.spawn(publish())

    async def agents_online(self) -> int:
        counts = await self._redis.hgetall(f"{self._p}agents")
        total = 0
        for node, count in counts.items():
            if await self.node.alive(text(node)):
                total += int(count)
        return total

    def tab_count(self) -> int:
        return self.local.tab_count()

    # --- what other nodes send -------------------------------------------------------------

    async def _deliver(self, message: dict[str, Any]) -> None:
        tab = message["tab"]
        match message["op"]:
            case "send":
                await self.local.send_tab(tab, m.parse_server_message(message["message"]))
            case "pull":
                await self._pull(tab, message["call"], Role(message["role"]))
            case "drop":
                self.local.close_tab(tab)
            case "replaced":
                self.local.replace_tab(tab)
            case "unbind":
                await self.local.unbind(message["call"], Role(message["role"]), tab)

    async def _queue_changed_elsewhere(self, message: dict[str, Any]) -> None:
        if message.get("origin") != self.node.id:
            for changed in self._queue_watchers:
                await changed()

    async def _to_tab(self, tab: str, op: str, message: m.ServerMessage | None = None) -> None:
        node = _node_of(tab)
        if node == self.node.id:
            if op == "send" and message is not None:
                await self.local.send_tab(tab, message)
            elif op == "drop":
                self.local.close_tab(tab)
            elif op == "replaced":
                self.local.replace_tab(tab)
            return
        await self.node.send(node, "tab", tab=tab, op=op,
                             message=message.model_dump_json(exclude_none=True) if message else None)

    # --- PeerBus --------------------------------------------------------------------------

    def _log_keys(self, call_id: str, role: Role) -> list[str]:
        return [f"{self._p}seq:{call_id}:{role.value}", f"{self._p}log:{call_id}:{role.value}",
                f"{self._p}bind:{call_id}"]

    async def bind(self, tab: str, call_id: str, role: Role, since: int | None = None) -> int:
        number, _, bindings = self._log_keys(call_id, role)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(bindings, role.value)
            pipe.hset(bindings, role.value, tab)
            pipe.get(number)
            older, _, last = await pipe.execute()
        await self.local.bind(tab, call_id, role)  # replaces an older tab on this node
        if older is not None and _node_of(text(older)) != self.node.id:
            await self._to_tab(text(older), "replaced")  # one live socket per participant
        last = int(last or 0)
        self._cursor[tab] = since if since is not None and 0 <= since <= last else last
        return self._cursor[tab]

    async def catch_up(self, tab: str, call_id: str, role: Role) -> None:
        await self._pull(tab, call_id, role)

    async def _pull(self, tab: str, call_id: str, role: Role) -> None:
        """Send this node's ``tab`` what its participant's log holds past the tab's cursor."""
        if tab not in self._cursor:
            return  # not (or no longer) a tab of this node
        async with self._pulling.setdefault(tab, asyncio.Lock()):
            if tab not in self._cursor or await self.local.call_of(tab) != call_id:
                return  # gone, or no longer this participant
            entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await self._redis.xrange(
                self._log_keys(call_id, role)[1], min=f"{self._cursor[tab] + 1}-0"))
            for entry, fields in entries:
                number = int(entry.split(b"-")[0])
                self._cursor[tab] = number
                await self.local.send_tab(tab, m.parse_server_message(fields[b"m"]).model_copy(
                    update={"seq": number}))

    async def unbind(self, call_id: str, role: Role, tab: str | None = None) -> None:
        holder = await self._unbind(keys=[f"{self._p}bind:{call_id}"],
                                    args=[role.value, tab or ""])
        if not holder:
            return
        holder = text(holder)
        if _node_of(holder) == self.node.id:
            await self.local.unbind(call_id, role, holder)
        else:  # the tab's own node forgets it is in the call
            await self.node.send(_node_of(holder), "tab", tab=holder, op="unbind",
                                 call=call_id, role=role.value)

    async def call_of(self, tab: str) -> str | None:
        return await self.local.call_of(tab)  # a tab asks about itself: it is on this node

    async def holder(self, call_id: str, role: Role) -> str | None:
        holder = await self._redis.hget(f"{self._p}bind:{call_id}", role.value)
        return text(holder) if holder else None

    async def present(self, call_id: str, role: Role) -> bool:
        return bool(await self._redis.hexists(f"{self._p}bind:{call_id}", role.value))

    async def send(self, call_id: str, role: Role, message: m.ServerMessage) -> None:
        _, tab = await self._log(keys=self._log_keys(call_id, role), args=[
            role.value, message.model_dump_json(exclude_none=True), LOG_KEPT, LOG_TTL])
        if tab is None:
            return  # kept for when they are back
        tab = text(tab)
        if _node_of(tab) == self.node.id:
            await self._pull(tab, call_id, role)
        else:
            await self.node.send(_node_of(tab), "tab", tab=tab, op="pull", call=call_id,
                                 role=role.value)

    async def forget(self, call_id: str) -> None:
        await self._redis.delete(*(key for role in Role
                                   for key in self._log_keys(call_id, role)[:2]))

    async def send_tab(self, tab: str, message: m.ServerMessage) -> None:
        await self._to_tab(tab, "send", message)

    def here(self) -> list[tuple[Tab, str | None]]:
        return self.local.here()

    async def queue_changed(self) -> None:
        await self.node.send("*", "queue", origin=self.node.id)

    def watch_queue(self, changed: Callable[[], Awaitable[None]]) -> None:
        self._queue_watchers.append(changed)

    async def drop(self, call_id: str, role: Role) -> bool:
        tab = await self.holder(call_id, role)
        if tab is None:
            return False
        await self._to_tab(tab, "drop")
        return True
