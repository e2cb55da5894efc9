"""Calls, participants and each call's timeline in PostgreSQL (``AVATARCALL_DATABASE_URL``),
for several servers sharing one set of records. The same operations as ``CallStore`` (SQLite,
the default); ``tests/integration/test_records_contract.py`` runs one suite against both.

Schema changes are versioned migrations, applied at start under an advisory lock: nodes that
start together apply each one once.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg

from avatarcall.calls.models import Call, Participant, Role
from avatarcall.calls.plan import AfterMode, AvatarPlan, DuringMode
from avatarcall.calls.state import CallState
from avatarcall.store.sqlite import CallEventRecord

log = logging.getLogger(__name__)

MIGRATION_LOCK = 7_240_001  # pg_advisory_xact_lock key of avatarcall's migrations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "calls, participants and timelines", """
CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL,
    plan_during TEXT NOT NULL,
    plan_after TEXT NOT NULL,
    ended_at DOUBLE PRECISION,
    end_reason TEXT,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX calls_by_created ON calls (created_at);
CREATE INDEX calls_unfinished ON calls (state) WHERE state <> 'ended';
CREATE TABLE participants (
    call_id TEXT NOT NULL REFERENCES calls(id),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    joined_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (call_id, role)
);
CREATE TABLE call_events (
    id BIGSERIAL PRIMARY KEY,
    call_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL,
    detail JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX call_events_by_call ON call_events (call_id, at);
CREATE INDEX call_events_by_time ON call_events (at);
"""),
    (2, "what a call is about", "ALTER TABLE calls ADD COLUMN topic TEXT;"),
)


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply the migrations this database has not had; the versions applied now."""
    applied = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
                           "PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL "
                           "DEFAULT now())")
        done = {row["version"] for row in await conn.fetch("SELECT version FROM "
                                                           "schema_migrations")}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                               version, name)
            applied.append(version)
            log.info("database migration %d applied: %s", version, name)
    return applied


async def _codecs(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads,
                              schema="pg_catalog")


class PostgresCallStore:
    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 10) -> None:
        self.url = url
        self.path = url.split("@")[-1]  # what a log line may show: host, port, database
        self._sizes = (min_size, max_size)
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(self.url, min_size=self._sizes[0],
                                               max_size=self._sizes[1], init=_codecs)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the call store is closed")
        return self._pool

    async def ping(self) -> None:
        """Raises unless the database answers (``/readyz``)."""
        await self.pool.fetchval("SELECT 1")

    async def save_call(self, call: Call) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                # A newer version of the call is never overwritten by an older one.
                "INSERT INTO calls (id, language, created_at, state, plan_during, plan_after, "
                "ended_at, end_reason, version, topic) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO UPDATE "
                "SET state=EXCLUDED.state, plan_during=EXCLUDED.plan_during, "
                "plan_after=EXCLUDED.plan_after, ended_at=EXCLUDED.ended_at, "
                "end_reason=EXCLUDED.end_reason, version=EXCLUDED.version "
                "WHERE calls.version <= EXCLUDED.version",
                call.id, call.language, call.created_at, call.state.value,
                call.plan.during.value, call.plan.after.value, call.ended_at, call.end_reason,
                call.version, call.topic)
            parts = [(call.id, p.role.value, p.name, p.joined_at)
                     for p in (call.customer, call.agent) if p is not None]
            await conn.executemany("INSERT INTO participants VALUES ($1,$2,$3,$4) "
                                   "ON CONFLICT DO NOTHING", parts)

    async def add_event(self, call_id: str, kind: str, detail: dict[str, Any] | None = None,
                        at: float | None = None) -> None:
        await self.pool.execute(
            "INSERT INTO call_events (call_id, at, kind, detail) VALUES "
            "($1, COALESCE($2, EXTRACT(EPOCH FROM clock_timestamp())), $3, $4)",
            call_id, at, kind, detail or {})

    async def events(self, call_id: str) -> list[CallEventRecord]:
        rows = await self.pool.fetch("SELECT call_id, at, kind, detail FROM call_events "
                                     "WHERE call_id=$1 ORDER BY at, id", call_id)
        return [CallEventRecord(r["call_id"], r["at"], r["kind"], r["detail"]) for r in rows]

    async def timeline(self, call_id: str, kinds: tuple[str, ...]) -> list[CallEventRecord]:
        rows = await self.pool.fetch("SELECT call_id, at, kind, detail FROM call_events "
                                     "WHERE call_id=$1 AND kind = ANY($2) ORDER BY at, id",
                                     call_id, list(kinds))
        return [CallEventRecord(r["call_id"], r["at"], r["kind"], r["detail"]) for r in rows]

    async def purge(self, kinds: tuple[str, ...], before: float) -> int:
        done = await self.pool.execute(
            "DELETE FROM call_events WHERE kind = ANY($1) AND at < $2", list(kinds), before)
        return int(done.split()[-1])

    async def events_between(self, since: float, until: float,
                             kinds: tuple[str, ...] = ()) -> list[CallEventRecord]:
        if kinds:
            rows = await self.pool.fetch(
                "SELECT call_id, at, kind, detail FROM call_events WHERE at >= $1 AND at < $2 "
                "AND kind = ANY($3) ORDER BY at, id", since, until, list(kinds))
        else:
            rows = await self.pool.fetch(
                "SELECT call_id, at, kind, detail FROM call_events WHERE at >= $1 AND at < $2 "
                "ORDER BY at, id", since, until)
        return [CallEventRecord(r["call_id"], r["at"], r["kind"], r["detail"]) for r in rows]

    async def calls_between(self, since: float, until: float, limit: int = 200) -> list[Call]:
        calls = await self._load("WHERE created_at >= $1 AND created_at < $2", since, until)
        return calls[-limit:]

    async def load_call(self, call_id: str) -> Call | None:
        calls = await self._load("WHERE id = $1", call_id)
        return calls[0] if calls else None

    async def unfinished_calls(self) -> list[Call]:
        return await self._load("WHERE state <> $1", CallState.ENDED.value)

    async def _load(self, where: str, *args: Any) -> list[Call]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(f"SELECT * FROM calls {where} ORDER BY created_at", *args)
            ids = [r["id"] for r in rows]
            parts = await conn.fetch("SELECT * FROM participants WHERE call_id = ANY($1)",
                                     ids) if ids else []
        people: dict[str, dict[str, Participant]] = {}
        for p in parts:
            people.setdefault(p["call_id"], {})[p["role"]] = Participant(
                Role(p["role"]), p["name"], p["joined_at"])
        return [Call(id=r["id"], language=r["language"], created_at=r["created_at"],
                     state=CallState(r["state"]),
                     plan=AvatarPlan(during=DuringMode(r["plan_during"]),
                                     after=AfterMode(r["plan_after"])),
                     customer=people.get(r["id"], {}).get("customer"),
                     agent=people.get(r["id"], {}).get("agent"),
                     ended_at=r["ended_at"], end_reason=r["end_reason"], topic=r["topic"])
                for r in rows]
