"""``LocalWorkers``: the avatar worker processes ``avatarcall serve`` starts on this machine
(one per core by default), kept running: a worker that dies is started again.

They dial in like any other worker, over loopback, with a key made at start that never leaves
this machine's memory and environment.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys

log = logging.getLogger(__name__)

RESTART_DELAYS = (0.2, 1.0, 2.0, 5.0)  # after a worker dies; quicker again once one lives 30 s
STABLE_SECONDS = 30.0
STOP_SECONDS = 5.0


class LocalWorkers:
    def __init__(self, count: int, server_url: str, *, insecure: bool = False) -> None:
        self.count = count
        self.server_url = server_url
        self.key = "awk_local_" + secrets.token_urlsafe(32)
        self._insecure = insecure
        self._processes: dict[int, asyncio.subprocess.Process] = {}  # slot -> process
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def owns(self, key: str) -> bool:
        return secrets.compare_digest(key, self.key)

    def pids(self) -> set[int]:
        return {p.pid for p in self._processes.values() if p.returncode is None}

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._keep(slot), name=f"avatar-worker-{slot}")
                       for slot in range(self.count)]

    async def _keep(self, slot: int) -> None:
        failures = 0
        while not self._stopping:
            env = {**os.environ, "AVATARCALL_WORKER_KEY": self.key,
                   "AVATARCALL_WORKER_INSECURE": "true" if self._insecure else "false",
                   "AVATARCALL_WORKER_PARENT": str(os.getpid())}
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "avatarcall", "worker", "--server", self.server_url,
                env=env)
            self._processes[slot] = process
            started = asyncio.get_running_loop().time()
            code = await process.wait()
            if self._stopping:
                return
            lived = asyncio.get_running_loop().time() - started
            failures = 0 if lived > STABLE_SECONDS else failures + 1
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            log.warning("avatar worker %d (pid %d) exited with %s after %.0f s; starting it "
                        "again in %.1f s", slot, process.pid, code, lived, delay)
            await asyncio.sleep(delay)

    async def stop(self) -> None:
        self._stopping = True
        for process in self._processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGINT)  # stop now (SIGTERM would drain)
        for process in self._processes.values():
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
