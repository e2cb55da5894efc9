"""One contract, two record stores: SQLite (the default, a file) and PostgreSQL (a real server
started from Debian's package). Calls, participants and timelines come back as they were
written, in order, and an older version of a call never overwrites a newer one."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest

from avatarcall.calls import AfterMode, AvatarPlan, Call, CallEvent, CallState, DuringMode
from avatarcall.calls.models import Participant, Role
from avatarcall.store import CallStore, LocalCallRepository
from avatarcall.store.postgres import MIGRATIONS, PostgresCallStore, migrate
from avatarcall.store.retention import forget_conversations
from avatarcall.testing.services import Postgres, start_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    server = start_postgres()
    yield server
    server.remove()


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path,
                postgres: Postgres) -> AsyncIterator[CallStore | PostgresCallStore]:
    if request.param == "sqlite":
        records: CallStore | PostgresCallStore = CallStore(tmp_path / "calls.sqlite3")
    else:
        conn = await asyncpg.connect(postgres.url)
        name = f"t{time.monotonic_ns()}"
        await conn.execute(f"CREATE DATABASE {name}")
        await conn.close()
        records = PostgresCallStore(postgres.url.rsplit("/", 1)[0] + f"/{name}")
    await records.open()
    yield records
    await records.close()


def connected_call(now: float) -> Call:
    call = Call.new("fr", "Zoé", now=now, topic="Ma facture de novembre")
    call = replace(call, plan=AvatarPlan(during=DuringMode.OVERLAY, after=AfterMode.OFF),
                   agent=Participant(Role.AGENT, "alice", joined_at=now + 5))
    return call.moved(CallEvent.AGENT_ACCEPTED, now=now + 5).moved(CallEvent.LINK_UP, now=now + 6)


async def test_a_call_and_its_participants_come_back(store) -> None:
    call = connected_call(1_000.0)
    await store.save_call(call)
    assert await store.load_call(call.id) == call
    assert await store.load_call("nope") is None
    ended = call.moved(CallEvent.HANG_UP, now=1_100.0, reason="customer_left")
    await store.save_call(ended)
    loaded = await store.load_call(call.id)
    assert loaded is not None and loaded.state is CallState.ENDED
    assert (loaded.ended_at, loaded.end_reason) == (1_100.0, "customer_left")


async def test_timelines_in_order_per_call_and_by_period(store) -> None:
    await store.add_event("c1", "link_up", {"link": "call", "n": 1.5}, at=20.0)
    await store.add_event("c1", "created", at=10.0)
    await store.add_event("c2", "created", at=15.0)
    await store.add_event("c1", "same_time_later", {"nested": {"ok": True}}, at=20.0)
    events = await store.events("c1")
    assert [(e.at, e.kind) for e in events] == [
        (10.0, "created"), (20.0, "link_up"), (20.0, "same_time_later")]
    assert events[1].detail == {"link": "call", "n": 1.5}
    assert events[2].detail == {"nested": {"ok": True}}
    between = await store.events_between(12.0, 25.0, ("created",))
    assert [(e.call_id, e.kind) for e in between] == [("c2", "created")]
    assert len(await store.events_between(0.0, 100.0)) == 4
    before = time.time()
    await store.add_event("c3", "now")
    assert (await store.events("c3"))[0].at >= before - 1  # the store's own clock


async def test_unfinished_calls_and_periods(store) -> None:
    waiting = Call.new("fr", "A", now=100.0)
    live = connected_call(200.0)
    ended = connected_call(300.0).moved(CallEvent.HANG_UP, now=310.0)
    for call in (waiting, live, ended):
        await store.save_call(call)
    assert {c.id for c in await store.unfinished_calls()} == {waiting.id, live.id}
    assert [c.id for c in await store.calls_between(150.0, 400.0)] == [live.id, ended.id]


async def test_saves_of_one_call_land_in_version_order(store) -> None:
    """Through the repository, many quick changes of one call: the record ends as the last."""
    repo = LocalCallRepository(store)
    call = Call.new("fr", "Zoé", now=1.0)
    assert await repo.insert(call)
    current = await repo.get(call.id)
    writes = []
    for i in range(20):  # versions 1..20, their saves racing on the store
        assert current is not None
        current = replace(current, end_reason=f"step{i}")
        writes.append(asyncio.ensure_future(repo.put(current)))
        current = replace(current, version=current.version + 1)
    await asyncio.gather(*writes)
    loaded = await store.load_call(call.id)
    assert loaded is not None and loaded.end_reason == "step19"


async def test_a_file_made_before_calls_had_a_topic_opens_and_keeps_its_calls(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the schema as it was
        db.executescript(
            "CREATE TABLE calls (id TEXT PRIMARY KEY, language TEXT NOT NULL, created_at REAL NOT NULL,"
            " state TEXT NOT NULL, plan_during TEXT NOT NULL, plan_after TEXT NOT NULL,"
            " ended_at REAL, end_reason TEXT);"
            "INSERT INTO calls VALUES ('c-old', 'en', 10.0, 'ended', 'beside', 'conclusion', 20.0, 'agent_left');")
    store = CallStore(path)
    await store.open()
    try:
        old = await store.load_call("c-old")
        assert old is not None and old.end_reason == "agent_left" and old.topic is None
        call = connected_call(1_000.0)
        await store.save_call(call)
        assert await store.load_call(call.id) == call
    finally:
        await store.close()


async def test_conversations_are_kept_for_the_retention_period_only(store) -> None:
    now = time.time()
    await store.add_event("c1", "conversation", {"role": "customer", "text": "old"}, at=now - 40 * 86400)
    await store.add_event("c1", "conversation", {"role": "customer", "text": "new"}, at=now - 86400)
    await store.add_event("c1", "outcome", {"scenario": "call", "outcome": "success"}, at=now - 40 * 86400)
    assert await forget_conversations(store, days=30) == 1
    assert [e.detail["text"] for e in await store.timeline("c1", ("conversation",))] == ["new"]
    assert len(await store.timeline("c1", ("outcome",))) == 1  # the rest of the timeline stays


async def test_migrations_apply_once_under_a_lock(postgres: Postgres) -> None:
    conn = await asyncpg.connect(postgres.url)
    name = f"m{time.monotonic_ns()}"
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    conns = [await asyncpg.connect(url) for _ in range(4)]
    try:  # four nodes starting at once
        applied = await asyncio.gather(*(migrate(c) for c in conns))
        assert sorted(v for versions in applied for v in versions) == [m[0] for m in MIGRATIONS]
        rows = await conns[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m[0] for m in MIGRATIONS]
        assert await migrate(conns[0]) == []
    finally:
        for c in conns:
            await c.close()


async def test_a_server_keeps_its_records_in_postgres_and_says_when_it_cannot(
        postgres: Postgres, tmp_path: Path) -> None:
    """``AVATARCALL_DATABASE_URL``: the records go to PostgreSQL; ``/readyz`` follows the
    database, ``/healthz`` never does, and the server takes it back when it returns."""
    import httpx

    from avatarcall.testing.server import start_server
    from avatarcall.testing.signaling import agent_cookie, new_call

    conn = await asyncpg.connect(postgres.url)
    await conn.execute("CREATE DATABASE served")
    await conn.close()
    url = postgres.url.rsplit("/", 1)[0] + "/served"
    server = start_server(tmp_path / "server", AVATARCALL_DATABASE_URL=url)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/readyz")).json() == {"ready": True, "database": "ok"}
            ticket = await new_call(server)
            conn = await asyncpg.connect(url)
            assert await conn.fetchval("SELECT state FROM calls WHERE id=$1",
                                       ticket["call_id"]) == "waiting"
            await conn.close()
            await asyncio.to_thread(postgres.stop)
            try:
                ready = await http.get("/readyz")
                assert ready.status_code == 503 and ready.json()["ready"] is False
                assert (await http.get("/healthz")).status_code == 200
            finally:
                await asyncio.to_thread(postgres.start)
            for _ in range(50):
                if (await http.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.2)
            assert (await http.get("/readyz")).status_code == 200
            http.cookies.set("avatarcall_agent", await agent_cookie(server))
            record = await http.get(f"/api/calls/{ticket['call_id']}")
            assert [e["kind"] for e in record.json()["events"]][:1] == ["state"]
    finally:
        server.stop()
