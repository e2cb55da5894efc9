"""Persistence of calls, participants and each call's timeline in one SQLite file.

sqlite3 is blocking, so every statement runs on one dedicated thread; callers await it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from avatarcall.calls.models import Call, Participant, Role
from avatarcall.calls.plan import AfterMode, AvatarPlan, DuringMode
from avatarcall.calls.state import CallState
from avatarcall.store.files import private_dir, sqlite_file

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    created_at REAL NOT NULL,
    state TEXT NOT NULL,
    plan_during TEXT NOT NULL,
    plan_after TEXT NOT NULL,
    ended_at REAL,
    end_reason TEXT,
    topic TEXT
);
CREATE TABLE IF NOT EXISTS participants (
    call_id TEXT NOT NULL REFERENCES calls(id),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    joined_at REAL NOT NULL,
    PRIMARY KEY (call_id, role)
);
CREATE TABLE IF NOT EXISTS call_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS call_events_by_call ON call_events(call_id, at);
"""


@dataclass(frozen=True)
class CallEventRecord:
    call_id: str
    at: float
    kind: str
    detail: dict[str, Any]


class CallStore:
    """Calls and their event timeline in SQLite (WAL), written from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._with_db, fn)

    def _with_db(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._db is None:
            raise RuntimeError("the call store is closed")
        with self._db:
            return fn(self._db)

    async def open(self) -> None:
        def connect() -> None:
            private_dir(self.path.parent)
            sqlite_file(self.path)
            db = sqlite3.connect(self.path, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
            if "topic" not in columns:  # a file made before calls had a topic
                db.execute("ALTER TABLE calls ADD COLUMN topic TEXT")
            self._db = db

        await asyncio.get_running_loop().run_in_executor(self._executor, connect)

    async def ping(self) -> None:
        """Raises unless the database answers (``/readyz``)."""
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        if self._db is None:
            self._executor.shutdown(wait=False)
            return

        def disconnect() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(self._executor, disconnect)
        self._executor.shutdown(wait=True)

    async def save_call(self, call: Call) -> None:
        row = (
            call.id, call.language, call.created_at, call.state.value, call.plan.during.value,
            call.plan.after.value, call.ended_at, call.end_reason, call.topic,
        )
        parts = [
            (call.id, p.role.value, p.name, p.joined_at)
            for p in (call.customer, call.agent)
            if p is not None
        ]

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO calls (id, language, created_at, state, plan_during, plan_after, "
                "ended_at, end_reason, topic) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "state=excluded.state, plan_during=excluded.plan_during, "
                "plan_after=excluded.plan_after, ended_at=excluded.ended_at, "
                "end_reason=excluded.end_reason",
                row,
            )
            db.executemany("INSERT OR IGNORE INTO participants VALUES (?,?,?,?)", parts)

        await self._run(write)

    async def add_event(self, call_id: str, kind: str, detail: dict[str, Any] | None = None,
                        at: float | None = None) -> None:
        row = (call_id, time.time() if at is None else at, kind, json.dumps(detail or {}))
        await self._run(
            lambda db: db.execute(
                "INSERT INTO call_events(call_id, at, kind, detail) VALUES (?,?,?,?)", row
            )
        )

    async def events(self, call_id: str) -> list[CallEventRecord]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT call_id, at, kind, detail FROM call_events WHERE call_id=? ORDER BY at, id",
                (call_id,),
            ).fetchall()
        )
        return [CallEventRecord(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    async def timeline(self, call_id: str, kinds: tuple[str, ...]) -> list[CallEventRecord]:
        """The call's events of these kinds, in order."""
        marks = ",".join("?" * len(kinds))
        rows = await self._run(
            lambda db: db.execute(
                "SELECT call_id, at, kind, detail FROM call_events WHERE call_id=? AND kind IN "
                f"({marks}) ORDER BY at, id", (call_id, *kinds),
            ).fetchall()
        )
        return [CallEventRecord(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    async def purge(self, kinds: tuple[str, ...], before: float) -> int:
        """Delete the events of these kinds older than ``before`` (retention); how many."""
        marks = ",".join("?" * len(kinds))
        return await self._run(
            lambda db: db.execute(f"DELETE FROM call_events WHERE kind IN ({marks}) AND at < ?",
                                  (*kinds, before)).rowcount)

    async def events_between(self, since: float, until: float,
                             kinds: tuple[str, ...] = ()) -> list[CallEventRecord]:
        """Events of every call in [since, until), optionally only of these kinds."""
        where, args = "at >= ? AND at < ?", [since, until, *kinds]
        if kinds:
            where += f" AND kind IN ({','.join('?' * len(kinds))})"
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT call_id, at, kind, detail FROM call_events WHERE {where} ORDER BY at, id", args
            ).fetchall()
        )
        return [CallEventRecord(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    async def calls_between(self, since: float, until: float, limit: int = 200) -> list[Call]:
        calls = await self._load("WHERE created_at >= ? AND created_at < ?", (since, until))
        return calls[-limit:]

    async def load_call(self, call_id: str) -> Call | None:
        calls = await self._load("WHERE id=?", (call_id,))
        return calls[0] if calls else None

    async def unfinished_calls(self) -> list[Call]:
        return await self._load("WHERE state != ?", (CallState.ENDED.value,))

    async def _load(self, where: str, args: tuple[Any, ...]) -> list[Call]:
        def read(db: sqlite3.Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
            calls = db.execute(
                "SELECT id, language, created_at, state, plan_during, plan_after, ended_at, "
                f"end_reason, topic FROM calls {where} ORDER BY created_at", args).fetchall()
            ids = [c[0] for c in calls]
            marks = ",".join("?" * len(ids))
            parts = db.execute(
                f"SELECT * FROM participants WHERE call_id IN ({marks})", ids
            ).fetchall() if ids else []
            return calls, parts

        rows, parts = await self._run(read)
        by_call: dict[str, dict[str, Participant]] = {}
        for call_id, role, name, joined_at in parts:
            by_call.setdefault(call_id, {})[role] = Participant(Role(role), name, joined_at)
        result = []
        for cid, language, created_at, state, during, after, ended_at, end_reason, topic in rows:
            people = by_call.get(cid, {})
            result.append(
                Call(
                    id=cid, language=language, created_at=created_at, state=CallState(state),
                    plan=AvatarPlan(during=DuringMode(during), after=AfterMode(after)),
                    customer=people.get("customer"), agent=people.get("agent"),
                    ended_at=ended_at, end_reason=end_reason, topic=topic,
                )
            )
        return result
