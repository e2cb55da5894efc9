"""Two nodes behind HAProxy (and Redis, PostgreSQL), as two people live it: the node that holds
the customer's page is killed mid-call; the page reconnects through HAProxy to the other node
and takes the same call back, the peer-to-peer call never stops, the avatar is live again,
and nothing written before the kill is lost. With the avatar on a worker of another machine,
the node it dialled in to is killed: the avatar never stops (its worker dials the other node,
which takes its session back)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis

from avatarcall.lbconfig import render_haproxy
from avatarcall.testing.browser import (
    assert_video_flows,
    by_testid,
    call_id_of,
    connected_pair,
    state_history,
)
from avatarcall.testing.server import Server, start_remote_worker, start_server
from avatarcall.testing.services import (
    HAProxy,
    Postgres,
    Redis,
    free_port,
    start_haproxy,
    start_postgres,
    start_redis,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

AVATAR_FRAMES = """([ms]) => new Promise((resolve) => {
  const video = document.querySelector('[data-testid="avatar-video"]');
  let frames = 0;
  const count = () => { frames += 1; video.requestVideoFrameCallback(count); };
  video.requestVideoFrameCallback(count);
  setTimeout(() => resolve(frames), ms);
})"""


class Deployment:
    """Two nodes, each with a local avatar worker; or (``remote_worker``) none of their own and
    one worker of another machine dialling in through HAProxy."""

    def __init__(self, tmp: Path, *, remote_worker: bool = False) -> None:
        self.postgres: Postgres = start_postgres()
        self.redis: Redis = start_redis(tmp / "redis")
        self.database = asyncio.run(self._database())
        env = {"AVATARCALL_REDIS_URL": self.redis.url, "AVATARCALL_DATABASE_URL": self.database,
               "AVATARCALL_AVATAR_WORKERS": "0" if remote_worker else "1"}
        self.nodes: dict[str, Server] = {
            name: start_server(tmp / "data", AVATARCALL_NODE_ID=name, **env)
            for name in ("node-a", "node-b")}
        port = free_port()
        config = render_haproxy([n.url.removeprefix("http://") for n in self.nodes.values()],
                                port=port)
        self.haproxy: HAProxy = start_haproxy(tmp / "haproxy", config, port)
        self.worker = start_remote_worker(self.haproxy.url, tmp / "data", tmp / "elsewhere",
                                          "machine-c") if remote_worker else None
        for _ in range(300):  # ready when the worker has dialled in (to either node)
            if self.worker is None or any(httpx.get(f"{n.url}/healthz", timeout=5).json()[
                    "workers"] for n in self.nodes.values()):
                break
            time.sleep(0.1)

    async def _database(self) -> str:
        conn = await asyncpg.connect(self.postgres.url)
        await conn.execute("CREATE DATABASE deployment")
        await conn.close()
        return self.postgres.url.rsplit("/", 1)[0] + "/deployment"

    def node_of_customer(self, call_id: str) -> str:
        tab = redis.Redis.from_url(self.redis.url).hget(f"ac:bind:{call_id}", "customer")
        assert tab is not None
        return tab.decode().split("/", 1)[0]

    def lease(self, call_id: str) -> tuple[str, int]:
        """The node the call's avatar runs on (its worker's), and its epoch."""
        lease = redis.Redis.from_url(self.redis.url).get(f"ac:lease:{call_id}")
        assert lease is not None
        node, epoch = lease.decode().rsplit("|", 1)
        return node, int(epoch)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.haproxy.stop()
        for node in self.nodes.values():
            node.stop()
        self.redis.stop()
        self.postgres.remove()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path_factory.mktemp("deployment"))
    yield deployment
    deployment.stop()


@pytest.fixture(scope="module")
def shared_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path_factory.mktemp("shared-worker"), remote_worker=True)
    yield deployment
    deployment.stop()


async def test_the_customers_node_dies_and_the_call_goes_on(browser, deployment) -> None:
    url = deployment.haproxy.url
    customer, agent = await connected_pair(browser, url)
    call_id = await call_id_of(customer)
    conn = await asyncpg.connect(deployment.database)
    kinds_before = [r["kind"] for r in await conn.fetch(
        "SELECT kind FROM call_events WHERE call_id=$1 ORDER BY id", call_id)]
    victim_name = deployment.node_of_customer(call_id)
    victim = deployment.nodes[victim_name]
    killed = time.monotonic()
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    await assert_video_flows(customer, agent)  # the call's media never depended on the node
    await customer.expect_state("avatar-state", "live")
    assert int(await customer.page.evaluate(AVATAR_FRAMES, [1500])) > 10
    survivor = next(n for name, n in deployment.nodes.items() if name != victim_name)
    for _ in range(100):  # the customer's page is back, on the other node
        if deployment.node_of_customer(call_id) != victim_name:
            break
        await asyncio.sleep(0.1)
    assert deployment.node_of_customer(call_id) != victim_name
    print(f"\n{victim_name} killed: the customer's page on the other node and the avatar live "
          f"again {time.monotonic() - killed:.1f} s later")
    assert set(await state_history(customer, "call-state")) == {"connected"}
    assert set(await state_history(agent, "call-state")) == {"connected"}
    kinds_after = [r["kind"] for r in await conn.fetch(
        "SELECT kind FROM call_events WHERE call_id=$1 ORDER BY id", call_id)]
    assert kinds_after[:len(kinds_before)] == kinds_before  # nothing written before was lost
    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    state = await conn.fetchval("SELECT state FROM calls WHERE id=$1", call_id)
    assert state == "ended"
    await conn.close()
    assert survivor.process.poll() is None
    await customer.close()
    await agent.close()


async def test_the_node_the_avatars_worker_dialled_dies_and_the_avatar_never_stops(
        browser, shared_worker) -> None:
    customer, agent = await connected_pair(browser, shared_worker.haproxy.url)
    call_id = await call_id_of(customer)
    victim_name, epoch = shared_worker.lease(call_id)
    survivor_name = next(name for name in shared_worker.nodes if name != victim_name)
    victim = shared_worker.nodes[victim_name]
    killed = time.monotonic()
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    for _ in range(100):  # the worker dialled the other node, which took the avatar back
        if shared_worker.lease(call_id) == (survivor_name, epoch):
            break
        await asyncio.sleep(0.1)
    assert shared_worker.lease(call_id) == (survivor_name, epoch)
    print(f"\n{victim_name} killed: the avatar's session taken back by {survivor_name} "
          f"{time.monotonic() - killed:.1f} s later, the same epoch")
    await assert_video_flows(customer, agent)
    for person in (customer, agent):
        assert int(await person.page.evaluate(AVATAR_FRAMES, [1500])) > 10
        assert set(await state_history(person, "avatar-state")) == {"live"}  # never left it
        assert set(await state_history(person, "call-state")) == {"connected"}
    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    await customer.close()
    await agent.close()
    assert "Traceback" not in shared_worker.worker.log.read_text()
