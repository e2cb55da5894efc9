"""An avatar worker on another machine, behind HAProxy, serves every node (issue: several
nodes). Two nodes without workers of their own: a customer on either gets its avatar from the
node the worker dialled in to. That node is killed (SIGKILL): the worker dials again through
HAProxy, lands on the other node, which takes its session back: the same epoch, and the viewer's
frames never stop."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import redis
from websockets.exceptions import ConnectionClosed

from avatarcall.lbconfig import render_haproxy
from avatarcall.testing.server import RemoteWorker, Server, start_remote_worker, start_server
from avatarcall.testing.services import (
    HAProxy,
    Postgres,
    Redis,
    free_port,
    start_haproxy,
    start_postgres,
    start_redis,
)
from avatarcall.testing.signaling import customer, new_call, receive, until_pong
from avatarcall.testing.viewer import frames_arrive, health, until, watching


@dataclass
class Site:
    nodes: dict[str, Server]
    haproxy: HAProxy
    redis: Redis
    postgres: Postgres
    worker: RemoteWorker


async def _database(postgres: Postgres) -> str:
    conn = await asyncpg.connect(postgres.url)
    await conn.execute("CREATE DATABASE moves")
    await conn.close()
    return postgres.url.rsplit("/", 1)[0] + "/moves"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    postgres = start_postgres()
    store = start_redis(tmp_path / "redis")
    env = {"AVATARCALL_REDIS_URL": store.url, "AVATARCALL_DATABASE_URL":
           asyncio.run(_database(postgres)), "AVATARCALL_AVATAR_WORKERS": "0"}
    nodes = {name: start_server(tmp_path / "data", AVATARCALL_NODE_ID=name, **env)
             for name in ("node-a", "node-b")}
    port = free_port()
    haproxy = start_haproxy(tmp_path / "haproxy", render_haproxy(
        [n.url.removeprefix("http://") for n in nodes.values()], port=port), port)
    worker = start_remote_worker(haproxy.url, tmp_path / "data", tmp_path / "elsewhere",
                                 "machine-c")
    yield Site(nodes, haproxy, store, postgres, worker)
    worker.stop()
    haproxy.stop()
    for node in nodes.values():
        node.stop()
    store.stop()
    postgres.remove()


async def test_the_workers_node_dies_and_its_avatar_goes_on(site: Site) -> None:
    def worker_node() -> str | None:
        return next((name for name, node in site.nodes.items() if health(node)["workers"]),
                    None)

    victim_name = await until(worker_node)
    victim = site.nodes[victim_name]
    survivor_name, survivor = next((n, s) for n, s in site.nodes.items() if n != victim_name)
    leases = redis.Redis.from_url(site.redis.url)
    ticket = await new_call(survivor)  # a node without workers: the avatar starts on the other
    call_id = ticket["call_id"]
    async with customer(survivor, ticket) as ws:
        view = await receive(ws, "avatar.view", view="stream")
        epoch = view["epoch"]
        assert leases.get(f"ac:lease:{call_id}") == f"{victim_name}|{epoch}".encode()
        async with watching(ws, call_id, epoch) as frames:
            await frames_arrive(frames)
            os.kill(victim.process.pid, signal.SIGKILL)
            victim.process.wait()
            taken = await until(lambda: [w for w in health(survivor)["workers"]
                                         if w["sessions"] == 1])
            assert taken[0]["id"] == "machine-c"
            assert leases.get(f"ac:lease:{call_id}") == f"{survivor_name}|{epoch}".encode()
            await frames_arrive(frames, 25)  # the same session, its viewer's frames go on
        told = await until_pong(ws)
        assert not [m for m in told if m["type"] == "avatar.error"], told
        assert {m["epoch"] for m in told if m["type"] == "avatar.view"} <= {epoch}
    assert "Traceback" not in site.worker.log.read_text()


async def test_a_node_stopped_with_sigterm_sends_its_pages_elsewhere(site: Site) -> None:
    """A node being stopped (SIGTERM: a deploy, a scale-in) closes its pages' sockets as a
    restart (1012: they reconnect at once), and they take their call back on another node."""
    leaving, staying = site.nodes.values()
    ticket = await new_call(leaving)
    async with customer(leaving, ticket) as ws:
        view = await receive(ws, "avatar.view", view="stream")
        leaving.process.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert leaving.process.wait(30) in (0, -signal.SIGTERM)  # shut down cleanly
    # The worker dials again through HAProxy and lands on the other node with its session (a
    # page back before it gets its avatar started afresh: a new epoch; CI saw that once).
    await until(lambda: [w for w in health(staying)["workers"] if w["sessions"] == 1])
    async with customer(staying, ticket) as back:
        again = await receive(back, "avatar.view", view="stream")
        assert again["epoch"] == view["epoch"]  # its avatar was on the worker: still running
    assert site.worker.process.poll() is None
    assert [w["id"] for w in await until(lambda: health(staying)["workers"])] == ["machine-c"]
