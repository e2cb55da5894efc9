"""``RedisCallRepository``: the calls being handled, shared by every node through Redis.

- ``{p}call:{id}``: the call as JSON, with its version;
- ``{p}calls``, ``{p}waiting``, ``{p}active``: sorted sets of the working set, the queue and
  the calls on, by creation time.

A write is a compare-and-set on the version, in one Lua script, so of many nodes deciding on one
call at once exactly one write lands (the flow decides again on what it finds). Records and
timelines go through to the record store (PostgreSQL when several nodes share it).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from avatarcall.calls.journal import Entry, EntryKind
from avatarcall.calls.models import Call
from avatarcall.calls.state import CallState
from avatarcall.cluster.node import text
from avatarcall.errors import UnknownCall, VersionConflict
from avatarcall.store.repository import CallRecords

# KEYS: call, calls, waiting, active. ARGV: expected version (or -1: insert), new JSON, id,
# created_at, state. Returns 1 written, 0 version moved on (or exists, for an insert), -1 gone.
_WRITE = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '-1' then
  if current then return 0 end
else
  if not current then return -1 end
  if cjson.decode(current)['version'] ~= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
if ARGV[5] == 'waiting' then redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
else redis.call('ZREM', KEYS[3], ARGV[3]) end
if ARGV[5] == 'connecting' or ARGV[5] == 'connected' or ARGV[5] == 'reconnecting' then
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])
else redis.call('ZREM', KEYS[4], ARGV[3]) end
return 1
"""


class RedisCallRepository:
    def __init__(self, redis: Redis, records: CallRecords, prefix: str = "ac:") -> None:
        self.redis = redis
        self.records = records
        self._p = prefix
        self._write = redis.register_script(_WRITE)

    def _keys(self, call_id: str) -> list[str]:
        return [f"{self._p}call:{call_id}", f"{self._p}calls", f"{self._p}waiting",
                f"{self._p}active"]

    async def _cas(self, call: Call, expected: int) -> int:
        return int(await self._write(keys=self._keys(call.id), args=[
            str(expected), json.dumps(call.to_dict()), call.id, str(call.created_at),
            call.state.value]))

    async def get(self, call_id: str) -> Call | None:
        raw = await self.redis.get(f"{self._p}call:{call_id}")
        return Call.from_dict(json.loads(raw)) if raw else None

    async def insert(self, call: Call) -> bool:
        if await self.records.load_call(call.id) is not None:
            return False
        if await self._cas(call, -1) != 1:
            return False
        await self.records.save_call(call)
        return True

    async def put(self, call: Call) -> Call:
        stored = replace(call, version=call.version + 1)
        result = await self._cas(stored, call.version)
        if result == -1:
            raise UnknownCall(f"There is no call {call.id}.")
        if result == 0:
            raise VersionConflict(f"call {call.id} changed meanwhile (written from "
                                  f"{call.version})")
        await self.records.save_call(stored)  # a newer version is never overwritten there
        return stored

    async def forget(self, call_id: str) -> None:
        call, calls, waiting, active = self._keys(call_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(call)
            for index in (calls, waiting, active):
                pipe.zrem(index, call_id)
            await pipe.execute()

    async def _calls(self, index: str, first: int | None = None) -> list[Call]:
        ids = await self.redis.zrange(f"{self._p}{index}", 0, -1 if first is None else first - 1)
        if not ids:
            return []
        raws = await self.redis.mget([f"{self._p}call:{text(i)}" for i in ids])
        return [Call.from_dict(json.loads(raw)) for raw in raws if raw]

    async def live(self) -> list[Call]:
        return await self._calls("calls")

    async def waiting(self, first: int | None = None) -> list[Call]:
        return await self._calls("waiting", first)

    async def waiting_ids(self) -> list[str]:
        return [text(i) for i in await self.redis.zrange(f"{self._p}waiting", 0, -1)]

    async def counts(self) -> tuple[int, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(f"{self._p}active")
            pipe.zcard(f"{self._p}waiting")
            active, waiting = await pipe.execute()
        return int(active), int(waiting)

    async def unfinished(self) -> list[Call]:
        """The calls not ended. Redis holds them while any node runs; after a cold start of the
        whole service (Redis empty), they come back from the records."""
        if not await self.redis.zcard(f"{self._p}calls"):
            for call in await self.records.unfinished_calls():
                await self._cas(call, -1)
        return [c for c in await self.live() if c.state is not CallState.ENDED]

    async def record(self, call_id: str) -> Call | None:
        return await self.get(call_id) or await self.records.load_call(call_id)

    async def add_event(self, call_id: str, entry: Entry, at: float | None = None) -> None:
        await self.records.add_event(call_id, entry.name, entry.detail(), at)

    async def entries(self, call_id: str, kind: EntryKind) -> list[tuple[float, dict[str, Any]]]:
        return [(e.at, e.detail) for e in await self.records.timeline(call_id, (kind.value,))]

