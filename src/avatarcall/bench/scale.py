"""``avatarcall bench scale``: how many waiting customers several nodes hold.

Real servers on this machine: Redis, PostgreSQL (from Debian's packages) and ``--nodes`` nodes
(no avatar workers: the avatar is off, so what is measured is the calls, the queue and the
signaling). Customers join spread over the nodes (a REST call, then the signaling socket, until
its ``welcome``), ``--concurrency`` at a time; then every one of them sends a ping. Printed:
joins per second, join time (median, p99), memory per waiting customer on each node, and how
many pings went unanswered (messages lost).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

from avatarcall.bench.stats import median, p95
from avatarcall.testing.server import Server, start_server
from avatarcall.testing.services import start_postgres, start_redis


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0


async def _join(server: Server, http: httpx.AsyncClient, number: int,
                sockets: list[ClientConnection]) -> float:
    start = time.perf_counter()
    response = await http.post("/api/calls", json={"name": f"customer {number}"})
    response.raise_for_status()
    token = response.json()["token"]
    ws = await connect(server.url.replace("http", "ws", 1) + f"/ws?token={token}",
                       open_timeout=30, ping_interval=None, max_queue=None)
    while json.loads(await ws.recv())["type"] != "welcome":
        pass
    sockets.append(ws)
    return time.perf_counter() - start


async def _pings(sockets: list[ClientConnection]) -> int:
    """How many sockets answer a ping with a pong within 20 s."""

    async def one(ws: ClientConnection) -> bool:
        await ws.send('{"type": "ping"}')
        try:
            while json.loads(await asyncio.wait_for(ws.recv(), 20))["type"] != "pong":
                pass
        except (TimeoutError, Exception):  # noqa: BLE001 (any failure: a message lost)
            return False
        return True

    return sum(await asyncio.gather(*(one(ws) for ws in sockets)))


async def _main(customers: int, nodes: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="avatarcall-bench-scale-",
                                     ignore_cleanup_errors=True) as work:
        postgres = start_postgres()
        redis = start_redis(Path(work) / "redis")
        conn = await asyncpg.connect(postgres.url)
        await conn.execute("CREATE DATABASE scale")
        await conn.close()
        env = {"AVATARCALL_REDIS_URL": redis.url,
               "AVATARCALL_DATABASE_URL": postgres.url.rsplit("/", 1)[0] + "/scale",
               "AVATARCALL_AVATAR_WORKERS": "0", "AVATARCALL_LOG_LEVEL": "WARNING",
               "AVATARCALL_MAX_WAITING_CALLS": str(customers * 2),
               "AVATARCALL_WAITING_GRACE_SECONDS": "300"}
        servers = [start_server(Path(work) / "data", AVATARCALL_NODE_ID=f"node-{i}", **env)
                   for i in range(nodes)]
        sockets: list[ClientConnection] = []
        try:
            before = [_rss_kb(s.process.pid) for s in servers]
            clients = [httpx.AsyncClient(base_url=s.url, timeout=30,
                                         limits=httpx.Limits(max_connections=concurrency))
                       for s in servers]
            gate = asyncio.Semaphore(concurrency)
            times: list[float] = []
            failures = 0

            async def join(number: int) -> None:
                nonlocal failures
                async with gate:
                    try:
                        times.append(await _join(servers[number % nodes],
                                                 clients[number % nodes], number, sockets))
                    except Exception:  # noqa: BLE001 (counted, and the bench goes on)
                        failures += 1

            started = time.perf_counter()
            await asyncio.gather(*(join(i) for i in range(customers)))
            elapsed = time.perf_counter() - started
            await asyncio.sleep(2)  # the nodes settle (their last queue messages)
            after = [_rss_kb(s.process.pid) for s in servers]
            answered = await _pings(sockets)
            for client in clients:
                await client.aclose()
            print(f"\navatarcall bench scale --customers {customers} --nodes {nodes}  "
                  f"(Redis + PostgreSQL + {nodes} nodes on this machine, avatar off, "
                  f"{concurrency} joining at a time)\n")
            print(f"  waiting customers          {len(sockets)} ({failures} failed to join)")
            print(f"  joins per second           {len(times) / elapsed:.0f}")
            print(f"  join time (REST + socket)  median {median(times) * 1000:.1f} ms   "
                  f"p95 {p95(times) * 1000:.1f} ms   p99 {_p99(times) * 1000:.1f} ms")
            per_node = customers / nodes
            for i, (b, a) in enumerate(zip(before, after)):
                print(f"  node-{i} memory              {b / 1024:.0f} -> {a / 1024:.0f} MB: "
                      f"{(a - b) / per_node:.0f} KB per waiting customer")
            print(f"  pings unanswered (lost)    {len(sockets) - answered}\n")
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            for server in servers:
                server.stop()
            redis.stop()
            postgres.remove()


def run(customers: int = 2000, nodes: int = 2, concurrency: int = 50) -> int:
    asyncio.run(_main(customers, nodes, concurrency))
    return 0
