"""``avatarcall bench scale``: how many waiting customers several nodes hold.

Real servers on this machine: Redis, PostgreSQL (from Debian's packages) and ``--nodes`` nodes
(no avatar workers: the avatar is off, so what is measured is the calls, the queue and the
signaling). A join is a REST call, then the signaling socket, until its ``welcome``; customers
join spread over the nodes, in two phases:

- **steady**: ``--customers`` arrive at ``--rate`` a second (each at its time, whether the ones
  before are in or not, as customers do), so the nodes hold more and more of them while joins
  go on: join time (median, p99) at that rate, as a customer feels it;
- **burst**: ``--burst`` more, 50 at a time, as fast as the nodes take them: the joins per second
  the machine can do (their join time is mostly waiting behind the 49 others).

Then every customer sends a ping. Printed: join times, joins per second, the nodes' CPU per
join, memory per waiting customer on each node, and how many pings went unanswered (lost).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
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


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _p99(values: list[float]) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else None


def _ms(seconds: float | None) -> str:
    return "     -" if seconds is None else f"{seconds * 1000:6.1f}"


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


@dataclass
class _Phase:
    times: list[float] = field(default_factory=list)
    failures: int = 0
    elapsed: float = 0.0
    cpu: float = 0.0  # the nodes' CPU seconds

    def line(self, name: str) -> str:
        joined = len(self.times)
        return (f"  {name:<9}{joined:>6} joined ({self.failures} failed), "
                f"{joined / self.elapsed:5.0f} joins/s   join time median "
                f"{_ms(median(self.times))} ms  p95 {_ms(p95(self.times))} ms  "
                f"p99 {_ms(_p99(self.times))} ms   node CPU per join "
                f"{self.cpu * 1000 / max(1, joined):.1f} ms")


class _Customers:
    """The bench's customers: joining the nodes in turn, their sockets kept open."""

    def __init__(self, servers: list[Server], concurrency: int) -> None:
        self.servers = servers
        self.clients = [httpx.AsyncClient(base_url=s.url, timeout=30,
                                          limits=httpx.Limits(max_connections=concurrency))
                        for s in servers]
        self.sockets: list[ClientConnection] = []
        self._next = 0

    async def join(self, phase: _Phase) -> None:
        number, self._next = self._next, self._next + 1
        node = number % len(self.servers)
        try:
            phase.times.append(await _join(self.servers[node], self.clients[node], number,
                                           self.sockets))
        except Exception:  # noqa: BLE001 (counted, and the bench goes on)
            phase.failures += 1

    def cpu(self) -> float:
        return sum(_cpu_seconds(s.process.pid) for s in self.servers)

    async def steady(self, count: int, rate: float) -> _Phase:
        """``count`` customers, one every ``1 / rate`` s."""
        phase, started, cpu = _Phase(), time.perf_counter(), self.cpu()
        joins = []
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            joins.append(asyncio.ensure_future(self.join(phase)))
        await asyncio.gather(*joins)
        phase.elapsed, phase.cpu = time.perf_counter() - started, self.cpu() - cpu
        return phase

    async def burst(self, count: int, concurrency: int) -> _Phase:
        """``count`` customers, ``concurrency`` joining at a time."""
        phase, started, cpu = _Phase(), time.perf_counter(), self.cpu()
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await self.join(phase)

        await asyncio.gather(*(one() for _ in range(count)))
        phase.elapsed, phase.cpu = time.perf_counter() - started, self.cpu() - cpu
        return phase

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for client in self.clients:
            await client.aclose()


async def _main(customers: int, nodes: int, rate: float, burst: int, concurrency: int) -> None:
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
               "AVATARCALL_MAX_WAITING_CALLS": str((customers + burst) * 2),
               "AVATARCALL_WAITING_GRACE_SECONDS": "300"}
        servers = [start_server(Path(work) / "data", port=None, tls=None,
                                AVATARCALL_NODE_ID=f"node-{i}", **env)
                   for i in range(nodes)]
        crowd = _Customers(servers, concurrency)
        try:
            before = [_rss_kb(s.process.pid) for s in servers]
            steady = await crowd.steady(customers, rate)
            held = len(crowd.sockets)
            await asyncio.sleep(2)  # the nodes settle (their last queue messages)
            after = [_rss_kb(s.process.pid) for s in servers]
            rush = await crowd.burst(burst, concurrency) if burst else None
            await asyncio.sleep(2)
            answered = await _pings(crowd.sockets)
            print(f"\navatarcall bench scale --customers {customers} --nodes {nodes} --rate "
                  f"{rate:g} --burst {burst}  (Redis + PostgreSQL + {nodes} nodes on this "
                  f"machine, avatar off)\n")
            print(f"  waiting customers          {len(crowd.sockets)} "
                  f"({steady.failures + (rush.failures if rush else 0)} failed to join)")
            print(steady.line("steady"))
            if rush is not None:
                print(rush.line("burst"))
            per_node = held / nodes
            for i, (b, a) in enumerate(zip(before, after)):
                print(f"  node-{i} memory              {b / 1024:.0f} -> {a / 1024:.0f} MB: "
                      f"{(a - b) / per_node:.0f} KB per waiting customer")
            print(f"  pings unanswered (lost)    {len(crowd.sockets) - answered}\n")
        finally:
            await crowd.close()
            for server in servers:
                server.stop()
            redis.stop()
            postgres.remove()


def run(customers: int = 2000, nodes: int = 2, rate: float = 50.0, burst: int = 400,
        concurrency: int = 50) -> int:
    asyncio.run(_main(customers, nodes, rate, burst, concurrency))
    return 0
