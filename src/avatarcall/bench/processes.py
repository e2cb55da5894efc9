"""Avatar sessions in several processes at once, as avatar workers run them: one process per
core, each rendering and encoding its own sessions on one thread (``avatarcall worker`` does
the same), the sessions of a step spread evenly over the processes.

Each process runs what ``bench avatar`` runs in one process (sessions with two viewers that
packetize what the session encoded once), so the figures compare like with like; the worker's
WebSocket to its server carries only commands and a load report a second, and is left out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection


def _child(conn: Connection) -> None:
    from avatarcall.avatar.session import AvatarSession
    from avatarcall.bench.avatar import _run_sessions

    async def measure(sessions: int, seconds: float) -> tuple[int, int]:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker")
        try:
            _, late, frames = await _run_sessions(AvatarSession, sessions, 2, seconds, executor)
        finally:
            executor.shutdown()
        return late, frames

    while True:
        task = conn.recv()
        if task is None:
            return
        sessions, seconds = task
        conn.send(asyncio.run(measure(sessions, seconds)) if sessions else (0, 0))


class Processes:
    """``count`` processes, each ready to run sessions when asked."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs = []
        for _ in range(count):
            parent, child = context.Pipe()
            proc = context.Process(target=_child, args=(child,), daemon=True)
            proc.start()
            self._conns.append(parent)
            self._procs.append(proc)

    def run(self, sessions: int, seconds: float) -> tuple[int, int]:
        """(late frames, frames) of ``sessions`` spread over the processes, all at once."""
        count = len(self._conns)
        shares = [sessions // count + (1 if i < sessions % count else 0) for i in range(count)]
        for conn, share in zip(self._conns, shares):
            conn.send((share, seconds))
        results = [conn.recv() for conn in self._conns]
        return sum(late for late, _ in results), sum(frames for _, frames in results)

    def close(self) -> None:
        for conn in self._conns:
            conn.send(None)
        for proc in self._procs:
            proc.join(10)


def ramp(count: int, limit: int, seconds: float) -> list[tuple[int, int, int]]:
    """Sessions over ``count`` processes, one more per step, until frames are late."""
    processes = Processes(count)
    try:
        processes.run(count, 2.0)  # warm-up (fonts, codecs), not counted
        steps = []
        for n in range(1, limit + 1):
            late, frames = processes.run(n, seconds)
            steps.append((n, late, frames))
            print(f"    workers ({count} processes) {n} session(s): {late} late of "
                  f"{frames + late} frames", flush=True)
            if late > 0.01 * (frames + late):
                break
        return steps
    finally:
        processes.close()
