"""Avatar workers against a real server: avatars render in worker processes (media straight from
the worker to the viewer), a killed, frozen or draining worker's avatar comes back on another
one under a new epoch, and a worker on "another machine" dials in with its key."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from avatarcall.testing.server import Server, start_server
from avatarcall.testing.signaling import customer, new_call, receive, send
from avatarcall.testing.viewer import frames_arrive, health, until, watching


@pytest.fixture(scope="module")
def workers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("workers"), AVATARCALL_AVATAR_WORKERS="2")
    yield server
    server.stop()


def holder(server: Server) -> dict[str, Any]:
    """The worker that holds the (one) avatar session."""
    busy = [w for w in health(server)["workers"] if w["sessions"]]
    assert len(busy) == 1, health(server)
    return busy[0]


async def next_epoch(ws: ClientConnection, old: int) -> tuple[int, float]:
    """The next avatar.view with a new epoch, and when it came."""
    while True:
        view = await receive(ws, "avatar.view")
        if view["epoch"] != old and view["view"] == "stream":
            return view["epoch"], time.monotonic()


async def test_avatars_render_in_worker_processes(workers_server: Server) -> None:
    workers = health(workers_server)["workers"]
    server_pid = workers_server.process.pid
    assert len(workers) == 2 and all(w["state"] == "ready" for w in workers)
    for w in workers:  # children of the server, not the server itself
        assert w["pid"] != server_pid
        assert Path(f"/proc/{w['pid']}/status").read_text().count(f"PPid:\t{server_pid}") == 1
        assert w["capacity"] >= 1 and w["frame_ms"] > 0
    ticket = await new_call(workers_server)
    async with customer(workers_server, ticket) as ws:
        view = await receive(ws, "avatar.view")
        async with watching(ws, ticket["call_id"], view["epoch"]) as frames:
            await frames_arrive(frames)
            assert frames[-1].width == 512
            assert holder(workers_server)["sessions"] == 1
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{workers_server.url}/metrics")).text
        assert "avatarcall_worker_sessions{worker=" in metrics
        assert "avatarcall_worker_capacity{worker=" in metrics
        await send(ws, {"type": "call.end", "call_id": ticket["call_id"]})
    await until(lambda: health(workers_server)["avatar_sessions"] == 0)


@pytest.mark.parametrize("how", ["killed", "draining"])
async def test_an_avatar_comes_back_on_another_worker(workers_server: Server, how: str) -> None:
    """SIGKILL: the worker's sessions are reported lost and start again elsewhere at once.
    SIGTERM: the worker drains; its session moves. Either way the supervisor starts a new
    worker, and the avatar's frames flow again under a new epoch."""
    ticket = await new_call(workers_server)
    async with customer(workers_server, ticket) as ws:
        view = await receive(ws, "avatar.view")
        async with watching(ws, ticket["call_id"], view["epoch"]) as frames:
            await frames_arrive(frames)
            victim = holder(workers_server)
            hit = time.monotonic()
            os.kill(victim["pid"], signal.SIGKILL if how == "killed" else signal.SIGTERM)
            epoch, came = await next_epoch(ws, view["epoch"])
        print(f"\nworker {how}: new avatar epoch announced after {(came - hit) * 1000:.0f} ms")
        async with watching(ws, ticket["call_id"], epoch) as frames:
            await frames_arrive(frames)
            shown = time.monotonic()
        print(f"worker {how}: frames again {(shown - hit) * 1000:.0f} ms after the signal")
        assert holder(workers_server)["pid"] != victim["pid"]
        await send(ws, {"type": "call.end", "call_id": ticket["call_id"]})
    # The supervisor keeps two workers running.
    await until(lambda: len(health(workers_server)["workers"]) == 2
                and victim["pid"] not in {w["pid"] for w in health(workers_server)["workers"]})


async def test_a_worker_cut_off_stops_its_avatars_and_epochs_fence_it(
        workers_server: Server) -> None:
    """A frozen worker (SIGSTOP: its socket stays open) is let go after three silent heartbeats;
    its avatar starts elsewhere. Woken up, it finds itself cut off and stops what it had:
    never two avatars for one call."""
    await until(lambda: len(health(workers_server)["workers"]) == 2)
    ticket = await new_call(workers_server)
    async with customer(workers_server, ticket) as ws:
        view = await receive(ws, "avatar.view")
        victim = await until(lambda: holder(workers_server))
        os.kill(victim["pid"], signal.SIGSTOP)
        try:
            epoch, _ = await next_epoch(ws, view["epoch"])
            async with watching(ws, ticket["call_id"], epoch) as frames:
                await frames_arrive(frames)
        finally:
            os.kill(victim["pid"], signal.SIGCONT)
        # Back, it rejoins with nothing: the session lives on the other worker only.
        rejoined = await until(lambda: next((w for w in health(workers_server)["workers"]
                                             if w["pid"] == victim["pid"]), None))
        assert rejoined["sessions"] == 0
        assert health(workers_server)["avatar_sessions"] == 1
        await send(ws, {"type": "call.end", "call_id": ticket["call_id"]})


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AVATARCALL_DATA_DIR": str(server.data_dir)}
    return subprocess.run([sys.executable, "-m", "avatarcall", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


async def test_a_worker_on_another_machine_dials_in_with_its_key(tmp_path: Path) -> None:
    """No local worker: the server waits for remote ones. A worker started elsewhere (its own
    directory and environment) with a key from ``avatarcall workerkey add`` dials in and
    renders; a worker with a wrong key is refused and says so."""
    server = start_server(tmp_path / "server", AVATARCALL_AVATAR_WORKERS="0")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATARCALL_")}
    env["AVATARCALL_AVATAR_PEER_NETWORKS"] = '["0.0.0.0/0", "::/0"]'  # the test's viewer: here
    env["AVATARCALL_DATA_DIR"] = str(elsewhere / "data")
    worker: subprocess.Popen[bytes] | None = None
    try:
        assert health(server)["workers"] == [] and health(server)["workers_ready"] is True
        made = cli(server, "workerkey", "add", "machine-b")
        assert made.returncode == 0 and made.stdout.startswith("awk_")
        wrong = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "avatarcall", "worker", "--server", server.url],
            env={**env, "AVATARCALL_WORKER_KEY": "awk_wrong"}, cwd=elsewhere,
            capture_output=True, text=True, timeout=60, check=False)
        assert wrong.returncode != 0 and "refused" in wrong.stderr
        assert health(server)["workers"] == []
        log = (elsewhere / "worker.log").open("wb")
        worker = subprocess.Popen(  # noqa: ASYNC220 (starts at once; never waited on here)
            [sys.executable, "-m", "avatarcall", "worker", "--server", server.url,
             "--id", "machine-b"], env={**env, "AVATARCALL_WORKER_KEY": made.stdout.strip()},
            cwd=elsewhere, stdout=log, stderr=subprocess.STDOUT)
        joined = await until(lambda: health(server)["workers"])
        assert joined[0]["id"] == "machine-b" and joined[0]["pid"] is None  # not ours to watch
        ticket = await new_call(server)
        async with customer(server, ticket) as ws:
            view = await receive(ws, "avatar.view")
            async with watching(ws, ticket["call_id"], view["epoch"]) as frames:
                await frames_arrive(frames)
        revoked = cli(server, "workerkey", "revoke", "machine-b")
        assert revoked.returncode == 0
        assert "machine-b\trevoked" in cli(server, "workerkey", "list").stdout
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGINT)
            worker.wait(10)
        server.stop()
    assert "Traceback" not in (elsewhere / "worker.log").read_text()
