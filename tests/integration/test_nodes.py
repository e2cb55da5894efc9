"""Two nodes, one service, on real servers from Debian's packages (Redis, PostgreSQL): a
customer on node A and an agent on node B share calls, avatars and timers; of many concurrent
accepts across both exactly one wins; Redis restarting is told by /readyz and healed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from avatarcall.testing.server import Server, start_server
from avatarcall.testing.services import Postgres, Redis, start_postgres, start_redis
from avatarcall.testing.signaling import (
    agent,
    agent_cookie,
    customer,
    new_call,
    receive,
    send,
    until_pong,
    ws_url,
)
from avatarcall.testing.viewer import frames_arrive, watching


@dataclass
class Cluster:
    a: Server
    b: Server
    redis: Redis
    postgres: Postgres
    database: str


async def _database(postgres: Postgres, name: str) -> str:
    conn = await asyncpg.connect(postgres.url)
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"


def start_cluster(tmp: Path, postgres: Postgres, database: str, redis: Redis) -> tuple[Server, Server]:
    env = {"AVATARCALL_REDIS_URL": redis.url, "AVATARCALL_DATABASE_URL": database,
           "AVATARCALL_AVATAR_WORKERS": "1", "AVATARCALL_WAITING_GRACE_SECONDS": "5"}
    # Both nodes read one data directory: the same signing key and agents (docs: deployment).
    a = start_server(tmp, AVATARCALL_NODE_ID="node-a", **env)
    b = start_server(tmp, AVATARCALL_NODE_ID="node-b", **env)
    return a, b


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    postgres = start_postgres()
    redis = start_redis(tmp / "redis")
    database = asyncio.run(_database(postgres, "cluster"))
    a, b = start_cluster(tmp / "data", postgres, database, redis)
    yield Cluster(a, b, redis, postgres, database)
    a.stop()
    b.stop()
    redis.stop()
    postgres.remove()


async def _avatar_frames_arrive(ws: ClientConnection, call_id: str, epoch: int) -> None:
    """An aiortc viewer of the call's avatar decodes frames (AssertionError if it does not)."""
    async with watching(ws, call_id, epoch) as frames:
        await frames_arrive(frames)


async def test_a_customer_on_one_node_and_an_agent_on_the_other(cluster: Cluster) -> None:
    cookie = await agent_cookie(cluster.b)
    ticket = await new_call(cluster.a)
    async with customer(cluster.a, ticket) as ws_customer, agent(cluster.b, cookie) as ws_agent:
        call_id = ticket["call_id"]
        view = await receive(ws_customer, "avatar.view")
        assert view["view"] == "stream"
        await _avatar_frames_arrive(ws_customer, call_id, view["epoch"])  # node A's avatar
        await send(ws_agent, {"type": "call.accept", "call_id": call_id})
        assert (await receive(ws_agent, "call.started"))["call"]["call_id"] == call_id
        preview = await receive(ws_agent, "avatar.view", view="stream")
        assert preview["epoch"] == view["epoch"]  # node A's avatar, seen from node B
        assert (await receive(ws_customer, "call.started"))["polite"] is True
        # Signals cross the nodes both ways.
        for sender, receiver, text in ((ws_customer, ws_agent, "candidate:1 1 udp 1 a 9 typ host"),
                                       (ws_agent, ws_customer, "candidate:2 1 udp 1 b 9 typ host")):
            await send(sender, {"type": "call.signal", "call_id": call_id,
                                "candidate": {"candidate": text}})
            assert (await receive(receiver, "call.signal"))["candidate"]["candidate"] == text
        await send(ws_customer, {"type": "link.state", "call_id": call_id, "link": "call",
                                 "state": "connected"})
        assert (await receive(ws_agent, "call.state"))["state"] == "connected"
        # The agent on node B makes node A's avatar speak; and sees it in its preview.
        await send(ws_agent, {"type": "avatar.say", "call_id": call_id, "text": "Bonjour !"})
        assert not [m for m in await until_pong(ws_agent) if m["type"] == "error"]
        await _avatar_frames_arrive(ws_agent, call_id, preview["epoch"])
        await send(ws_agent, {"type": "call.end", "call_id": call_id})
        assert (await receive(ws_customer, "call.state", state="ended"))["reason"] == "agent_hung_up"
    # The record is in PostgreSQL, shared: either node shows it.
    async with cluster.a.client(cookies={"avatarcall_agent": cookie}) as http:
        record = (await http.get(f"/api/calls/{call_id}")).json()
    states = [e["detail"]["state"] for e in record["events"] if e["kind"] == "state"]
    assert states == ["waiting", "connecting", "connected", "ended"]


async def test_of_a_hundred_accepts_across_both_nodes_exactly_one_wins(cluster: Cluster) -> None:
    cookie = await agent_cookie(cluster.a)
    ticket = await new_call(cluster.b)

    async def accept(server: Server) -> str:
        async with connect(ws_url(server),
                           additional_headers={"Cookie": f"avatarcall_agent={cookie}"}) as ws:
            await receive(ws, "queue")
            await send(ws, {"type": "call.accept", "call_id": ticket["call_id"]})
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if message["type"] == "call.started":
                    return "won"
                if message["type"] == "error" and message.get("request") == "call.accept":
                    return message["code"]

    async with customer(cluster.b, ticket):
        results = await asyncio.gather(*(accept(cluster.a if i % 2 else cluster.b)
                                         for i in range(100)))
    assert results.count("won") == 1
    assert set(results) - {"won"} <= {"call_taken", "not_allowed"}


async def test_each_node_tells_its_own_tabs_of_the_queue(cluster: Cluster) -> None:
    """What changes on node A (a customer joins, an agent takes a call) reaches node B's tabs:
    its agent's console lists the new customer, its waiting customer moves up."""
    cookie = await agent_cookie(cluster.b)
    async with agent(cluster.b, cookie) as console_b, agent(cluster.a, cookie) as console_a:
        await asyncio.sleep(1)  # node B's own rounds are over: what follows comes from node A
        first = await new_call(cluster.a)
        async with customer(cluster.a, first):
            listed = await receive(console_b, "queue")
            while first["call_id"] not in {i["call_id"] for i in listed["items"]}:
                listed = await receive(console_b, "queue")
            async with customer(cluster.b, await new_call(cluster.b)) as behind:
                place = (await receive(behind, "queue.position"))["position"]
                await asyncio.sleep(1)
                await send(console_a, {"type": "call.accept", "call_id": first["call_id"]})
                assert (await receive(behind, "queue.position"))["position"] == place - 1
            await send(console_a, {"type": "call.end", "call_id": first["call_id"]})


async def test_a_page_back_on_the_other_node_gets_what_it_missed_once(cluster: Cluster) -> None:
    """The customer's socket on node A is cut; the agent (node B) goes on signaling; the page
    comes back through node B with the last number it saw, and gets the rest, in order, once."""
    cookie = await agent_cookie(cluster.b)
    ticket = await new_call(cluster.a)
    call_id = ticket["call_id"]

    def candidate(n: int) -> dict[str, Any]:
        return {"type": "call.signal", "call_id": call_id,
                "candidate": {"candidate": f"candidate:{n} 1 udp 1 127.0.0.1 9 typ host"}}

    async with agent(cluster.b, cookie) as ws_agent:
        async with customer(cluster.a, ticket) as ws_customer:
            await send(ws_agent, {"type": "call.accept", "call_id": call_id})
            await receive(ws_agent, "call.started")
            await send(ws_agent, candidate(1))
            seen = (await receive(ws_customer, "call.signal"))["seq"]
        for n in (2, 3):
            await send(ws_agent, candidate(n))
        assert not [m for m in await until_pong(ws_agent) if m["type"] == "error"]
        async with connect(ws_url(cluster.b, ticket["token"]) + f"&since={call_id}:{seen}") as back:
            welcome = await receive(back, "welcome")
            assert welcome["seq"] == seen
            got = [m for m in await until_pong(back) if m.get("seq") is not None]
        signals = [m["candidate"]["candidate"].split()[0] for m in got if m["type"] == "call.signal"]
        assert signals == ["candidate:2", "candidate:3"]
        numbers = [m["seq"] for m in got]
        assert numbers == sorted(set(numbers)) and min(numbers) == seen + 1
        await send(ws_agent, {"type": "call.end", "call_id": call_id})


async def test_a_timer_fires_once_on_one_node(cluster: Cluster) -> None:
    """A customer who leaves is abandoned after the grace period, by exactly one node."""
    ticket = await new_call(cluster.a)
    async with customer(cluster.a, ticket):
        pass
    cookie = await agent_cookie(cluster.a)
    url = f"/api/calls/{ticket['call_id']}"

    def states(record: dict) -> list[str]:
        return [e["detail"]["state"] for e in record["events"] if e["kind"] == "state"]

    async with cluster.b.client(cookies={"avatarcall_agent": cookie}) as http:
        for _ in range(100):
            record = (await http.get(url)).json()
            if "ended" in states(record):  # (the call is saved ended, then its event written)
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # room for another node's firing, if one fired it too
        record = (await http.get(url)).json()
    assert record["call"]["end_reason"] == "customer_left"
    assert states(record) == ["waiting", "ended"]


async def test_redis_restarting_is_told_and_healed(cluster: Cluster) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{cluster.a.url}/readyz")).json()["redis"] == "ok"
        cluster.redis.stop()
        try:
            ready = await http.get(f"{cluster.a.url}/readyz")
            assert ready.status_code == 503 and ready.json()["redis"] != "ok"
            assert (await http.get(f"{cluster.a.url}/healthz")).status_code == 200
        finally:
            cluster.redis.start()
        for _ in range(50):
            if (await http.get(f"{cluster.a.url}/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.2)
        assert (await http.get(f"{cluster.a.url}/readyz")).status_code == 200
    # And the service works again across both nodes (the nodes' channels came back too).
    cookie = await agent_cookie(cluster.b)
    ticket = await new_call(cluster.a)
    async with customer(cluster.a, ticket) as ws_customer, agent(cluster.b, cookie) as ws_agent:
        await send(ws_agent, {"type": "call.accept", "call_id": ticket["call_id"]})
        assert (await receive(ws_customer, "call.started"))["call"]["call_id"] == ticket["call_id"]
        await send(ws_customer, {"type": "call.end", "call_id": ticket["call_id"]})


async def test_a_call_to_a_node_that_is_gone_fails_at_once_not_after_its_timeout(cluster: Cluster) -> None:
    from redis.asyncio import Redis as RedisClient

    from avatarcall.cluster.node import Node, NodeGone

    redis = RedisClient.from_url(cluster.redis.url)
    asker, answerer = Node(redis, "asker", prefix="t1:"), Node(redis, "answerer", prefix="t1:")

    async def pong(message: dict[str, Any]) -> str:
        return "pong " + message["text"]

    answerer.on("ping", pong)
    await asker.start()
    await answerer.start()
    hung = redis.pubsub()  # listens on a node's channel, never answers, has no heartbeat
    await hung.subscribe("t1:node:hung")
    try:
        assert await asker.call("answerer", "ping", text="hi") == "pong hi"
        # Within seconds, where CALL_TIMEOUT is 10: a killed node's channel has no listener any
        # more, and a hung node's heartbeat expires.
        with pytest.raises(NodeGone, match="not listening"):
            await asyncio.wait_for(asker.call("ghost", "ping", text="hi"), 3)
        with pytest.raises(NodeGone, match="stopped beating"):
            await asyncio.wait_for(asker.call("hung", "ping", text="hi"), 5)
    finally:
        await hung.aclose()
        await asker.close()
        await answerer.close()
        await redis.aclose()
