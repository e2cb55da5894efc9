"""``WorkerPool``: :class:`AvatarControl` over avatar workers (``avatar/worker.py``), local
processes or other machines, each on its WebSocket.

Each session is a lease: a key held by one worker under one epoch, which the pool chose. A new
session goes to a worker with room, picked at random weighted by its free capacity (what the
worker measures of itself, never more than the optional static cap). A worker that goes away
(its socket closes, or it is silent for three heartbeats) loses its leases: each is reported
failed (``avatar_worker_lost``) and the director starts it again elsewhere at once. A draining
worker gets no new session, and its sessions move where there is room. A worker back after a
cut (its server died: it dialled another) lists the sessions it kept: those whose lease may be
taken back (``may_adopt``: with several nodes, the lease in Redis is still theirs) are this
pool's again, and their viewers never noticed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from avatarcall.avatar.control import (
    AvatarEvent,
    AvatarFailed,
    AvatarLoad,
    Fault,
    Heard,
    SlotFreed,
    ViewerLinkChanged,
)
from avatarcall.avatar.wire import Command, Event, Hello, Load, Reply, Running
from avatarcall.config import IceServer
from avatarcall.errors import (
    AvatarBusy,
    AvatarCallError,
    AvatarMoved,
    AvatarUnavailable,
    AvatarWorkerLost,
)

log = logging.getLogger(__name__)

HEARTBEAT = 1.0  # seconds between a worker's loads
SILENT_LIMIT = 3  # heartbeats missed: the worker is gone
COMMAND_TIMEOUT = 10.0
WORKER_LOST = AvatarWorkerLost.code
MOVED = AvatarMoved.code


class WorkerLink(Protocol):
    """A worker's socket, as the pool needs it (``web/workers.py``)."""

    async def send(self, text: str) -> None:
        """Raises ``ConnectionError`` when the socket is gone (before the pool hears it)."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class WorkerInfo:
    """What ``/healthz`` and the metrics say of a worker."""

    id: str
    pid: int | None  # local workers only: the process this server supervises
    host: str
    sessions: int
    capacity: int
    frame_ms: float | None
    state: str  # ready | draining


@dataclass
class _Worker:
    hello: Hello
    link: WorkerLink
    local: bool
    load: Load
    seen_at: float
    leases: set[str] = field(default_factory=set)
    pending: dict[int, asyncio.Future[Reply]] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return 0 if self.load.draining else max(0, self.load.capacity - len(self.leases))


@dataclass(frozen=True)
class _Lease:
    worker: str
    epoch: int


class WorkerPool:
    def __init__(self, ice_servers: Callable[[], list[IceServer]], *, max_sessions: int = 0,
                 on_load: Callable[[str, Load], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_sessions = max_sessions  # 0: no limit beyond the workers' own
        self._ice = ice_servers
        self._on_load = on_load
        self._clock = clock
        self._workers: dict[str, _Worker] = {}
        self._leases: dict[str, _Lease] = {}
        self._events: asyncio.Queue[AvatarEvent] = asyncio.Queue()
        self._ids = itertools.count(1)
        # Epochs never repeat, not even across a restart of the server (see local.py).
        self._epochs = itertools.count(int(time.time() * 1000) % 10**12)
        self._watchdog: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Whether a session a worker kept through a cut may be taken back (RoutedAvatarControl
        # asks Redis); alone, one this pool has no other lease for may.
        self.may_adopt: Callable[[str, int], Awaitable[bool]] | None = None

    # --- workers coming and going (web/workers.py) ------------------------------------------

    def join(self, hello: Hello, link: WorkerLink, *, local: bool) -> bool:
        """A worker said hello; False if one of that id is already here."""
        if hello.worker in self._workers:
            return False
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        load = Load(sessions=0, viewers=0, capacity=hello.capacity)
        self._workers[hello.worker] = _Worker(hello, link, local, load, self._clock())
        log.info("avatar worker joined id=%s pid=%s host=%s capacity=%d", hello.worker,
                 hello.pid, hello.host, hello.capacity)
        self._events.put_nowait(SlotFreed("", 0))  # room for the calls in line
        return True

    async def adopt(self, worker_id: str, sessions: list[Running]) -> list[str]:
        """Take back the sessions a worker kept through a cut; the keys taken."""
        worker = self._workers.get(worker_id)
        kept: list[str] = []
        if worker is None:
            return kept
        for session in sessions:
            lease = self._leases.get(session.key)
            if lease is not None and lease.epoch != session.epoch:
                continue  # started again meanwhile
            if self.may_adopt is not None and not await self.may_adopt(session.key,
                                                                       session.epoch):
                continue
            self._leases[session.key] = _Lease(worker_id, session.epoch)
            worker.leases.add(session.key)
            kept.append(session.key)
        if kept:
            log.info("avatar worker %s: %d session(s) taken back", worker_id, len(kept))
        return kept

    async def received(self, worker_id: str, message: Load | Reply | Event) -> None:
        worker = self._workers.get(worker_id)
        if worker is None:
            return
        worker.seen_at = self._clock()
        match message:
            case Reply():
                future = worker.pending.pop(message.id, None)
                if future is not None and not future.done():
                    future.set_result(message)
            case Load():
                await self._loaded(worker, message)
            case Event():
                self._event(worker, message)

    async def leave(self, worker_id: str, link: WorkerLink | None = None) -> None:
        """The worker's socket closed (``link``: that socket, not a newer one of the same id):
        its sessions are lost (they stop there by themselves)."""
        worker = self._workers.get(worker_id)
        if worker is None or (link is not None and worker.link is not link):
            return
        del self._workers[worker_id]
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(AvatarWorkerLost("The avatar's worker went away."))
        lost = list(worker.leases)
        for key in lost:
            self._lost(key, WORKER_LOST, "The avatar's worker stopped; it starts again elsewhere.")
        log.warning("avatar worker left id=%s (%d session(s) lost)", worker_id, len(lost))

    async def _watch(self) -> None:
        """A worker silent for three heartbeats is gone (a frozen process keeps its socket)."""
        while True:
            await asyncio.sleep(HEARTBEAT)
            now = self._clock()
            for worker in list(self._workers.values()):
                if now - worker.seen_at > SILENT_LIMIT * HEARTBEAT:
                    log.warning("avatar worker silent id=%s: let go", worker.hello.worker)
                    await self.leave(worker.hello.worker)
                    await worker.link.close()

    async def _loaded(self, worker: _Worker, load: Load) -> None:
        had_room, was_draining = worker.free, worker.load.draining
        worker.load = load
        if self._on_load is not None:
            self._on_load(worker.hello.worker, load)
        if load.draining and not was_draining:
            await self._move_from(worker)
        if worker.free > had_room:
            self._events.put_nowait(SlotFreed("", 0))

    async def _move_from(self, worker: _Worker) -> None:
        """A draining worker's sessions move where there is room (the rest finish there)."""
        room = sum(w.free for w in self._workers.values() if w is not worker)
        for key in list(worker.leases)[:room]:
            self._lost(key, MOVED, "The avatar moves to another worker.")
            self._spawn_stop(worker, key)

    def _event(self, worker: _Worker, event: Event) -> None:
        lease = self._leases.get(event.key)
        if lease is None or lease != _Lease(worker.hello.worker, event.epoch):
            return  # an older epoch's: fenced off
        if event.kind == "link":
            self._events.put_nowait(ViewerLinkChanged(event.key, event.epoch, event.viewer or "",
                                                      event.state or ""))
        elif event.kind == "heard":
            self._events.put_nowait(Heard(event.key, event.epoch, event.text or ""))
        else:
            self._lost(event.key, event.code or "avatar_crashed",
                       event.message or "The avatar stopped unexpectedly.", event.retryable)

    def _lost(self, key: str, code: str, message: str, retryable: bool = True) -> None:
        lease = self._leases.pop(key, None)
        if lease is None:
            return
        worker = self._workers.get(lease.worker)
        if worker is not None:
            worker.leases.discard(key)
        self._events.put_nowait(AvatarFailed(key, lease.epoch, code, message, retryable))
        self._events.put_nowait(SlotFreed(key, lease.epoch))

    # --- commands ---------------------------------------------------------------------------

    async def _call(self, worker: _Worker, command: Command) -> Reply:
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        worker.pending[command.id] = future
        try:
            await worker.link.send(command.model_dump_json(exclude_none=True))
            reply = await asyncio.wait_for(future, COMMAND_TIMEOUT)
        except TimeoutError:
            raise AvatarUnavailable("The avatar's worker did not answer.") from None
        except ConnectionError:  # it died a moment ago: its leaving is on its way to the pool
            raise AvatarUnavailable("The avatar's worker is gone.") from None
        finally:
            worker.pending.pop(command.id, None)
        if reply.error is not None:  # the worker's error, as it raised it
            kind = AvatarUnavailable if reply.error.retryable else AvatarCallError
            raise kind(reply.error.message, code=reply.error.code,
                       retryable=reply.error.retryable)
        return reply

    def _command(self, op: str, key: str, **fields: object) -> Command:
        return Command(id=next(self._ids), op=op, key=key, **fields)  # type: ignore[arg-type]

    def _holder(self, key: str) -> tuple[_Worker, _Lease]:
        lease = self._leases.get(key)
        worker = self._workers.get(lease.worker) if lease else None
        if lease is None or worker is None:
            raise AvatarUnavailable("This avatar is not running.")
        return worker, lease

    def _spawn_stop(self, worker: _Worker, key: str) -> None:
        async def stop() -> None:
            try:
                await self._call(worker, self._command("stop", key))
            except AvatarCallError:
                pass  # gone or stuck: it stops its sessions by itself when cut off
        task = asyncio.get_running_loop().create_task(stop())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- AvatarControl ----------------------------------------------------------------------

    async def start(self, key: str, language: str) -> int:
        await self.stop(key)
        if self.max_sessions and len(self._leases) >= self.max_sessions:
            raise AvatarBusy("Every avatar this server may render is in use.")
        tried: set[str] = set()
        while True:
            candidates = [w for w in self._workers.values()
                          if w.free > 0 and w.hello.worker not in tried]
            if not candidates:
                raise AvatarBusy("Every avatar worker is busy.")
            worker = random.choices(candidates, weights=[w.free for w in candidates])[0]
            tried.add(worker.hello.worker)
            epoch = next(self._epochs)
            # Leased before the worker answers: starts made meanwhile count this one.
            lease = self._leases[key] = _Lease(worker.hello.worker, epoch)
            worker.leases.add(key)
            try:
                await self._call(worker, self._command("start", key, epoch=epoch,
                                                       language=language))
                return epoch
            except AvatarUnavailable as exc:  # it went away or drains: another one may do
                log.info("avatar start on worker %s failed (%s); trying another",
                         worker.hello.worker, exc.code)
                self._unlease(key, lease, worker)
            except AvatarCallError:
                self._unlease(key, lease, worker)
                raise

    def _unlease(self, key: str, lease: _Lease, worker: _Worker) -> None:
        if self._leases.get(key) == lease:
            del self._leases[key]
        worker.leases.discard(key)

    async def stop(self, key: str) -> None:
        lease = self._leases.pop(key, None)
        if lease is None:
            return
        worker = self._workers.get(lease.worker)
        if worker is not None:
            worker.leases.discard(key)
            try:
                await self._call(worker, self._command("stop", key))
            except AvatarCallError as exc:
                log.info("avatar stop on worker %s: %s", lease.worker, exc.message)
        self._events.put_nowait(SlotFreed(key, lease.epoch))

    async def running(self) -> list[tuple[str, int]]:
        return [(key, lease.epoch) for key, lease in self._leases.items()]

    async def epoch(self, key: str) -> int | None:
        lease = self._leases.get(key)
        return lease.epoch if lease is not None else None

    async def say(self, key: str, text: str, *, when_watched: bool = False,
                  language: str | None = None, append: bool = False) -> None:
        worker, _ = self._holder(key)
        await self._call(worker, self._command("say", key, text=text, when_watched=when_watched,
                                               language=language, append=append))

    async def interrupt(self, key: str) -> None:
        if key in self._leases:
            worker, _ = self._holder(key)
            await self._call(worker, self._command("interrupt", key))

    async def use_voice(self, key: str, viewer: str | None) -> None:
        if key in self._leases:
            worker, _ = self._holder(key)
            await self._call(worker, self._command("use_voice", key, viewer=viewer))

    async def answer(self, key: str, epoch: int, viewer: str, sdp: str, *, audience: bool) -> str:
        worker, lease = self._holder(key)
        if lease.epoch != epoch:
            raise AvatarUnavailable("This avatar is not running any more; wait for the next one.")
        reply = await self._call(worker, self._command(
            "answer", key, epoch=epoch, viewer=viewer, sdp=sdp, audience=audience,
            ice_servers=self._ice()))
        return reply.sdp or ""

    async def drop_viewer(self, key: str, viewer: str) -> None:
        if key in self._leases:
            worker, _ = self._holder(key)
            await self._call(worker, self._command("drop_viewer", key, viewer=viewer))

    async def fault(self, key: str, kind: Fault) -> int:
        worker, lease = self._holder(key)
        await self._call(worker, self._command("fault", key, fault=kind))
        return lease.epoch

    async def events(self) -> AsyncIterator[AvatarEvent]:  # type: ignore[override]
        while True:
            yield await self._events.get()

    def load(self) -> AvatarLoad:
        capacity = sum(w.load.capacity for w in self._workers.values() if not w.load.draining)
        if self.max_sessions:
            capacity = min(capacity, self.max_sessions)
        return AvatarLoad(sessions=len(self._leases),
                          viewers=sum(w.load.viewers for w in self._workers.values()),
                          capacity=capacity)

    def workers(self) -> list[WorkerInfo]:
        return [WorkerInfo(id=w.hello.worker, pid=w.hello.pid if w.local else None,
                           host=w.hello.host, sessions=len(w.leases), capacity=w.load.capacity,
                           frame_ms=w.load.frame_ms,
                           state="draining" if w.load.draining else "ready")
                for w in self._workers.values()]

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._watchdog] if self._watchdog else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for key in list(self._leases):
            await self.stop(key)
