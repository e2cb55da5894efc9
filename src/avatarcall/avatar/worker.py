"""``avatarcall worker``: a process that renders avatars for a server it dials in to.

It owns its sessions and their viewers' peer connections (media goes from here straight to the
browsers) and answers the server's commands over one WebSocket (``avatar/wire.py``). Cut off
from the server (its node died, or the network), it keeps its sessions for ``KEEP_SECONDS``
while it dials again (through a load balancer: to another node) and lists them in its hello:
the server takes back those whose lease is still theirs (their viewers never noticed) and the
worker stops the others. Past ``KEEP_SECONDS`` alone it stops them all: the server has started
them elsewhere under new epochs, and an avatar must never be shown twice. SIGTERM drains it (no
new sessions; it leaves once the server has moved or ended its current ones); SIGINT stops it
now.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from avatarcall.avatar.capacity import CapacityMeter
from avatarcall.avatar.control import AvatarFailed, Heard, ViewerLinkChanged
from avatarcall.avatar.local import LocalAvatarControl
from avatarcall.avatar.motion import IdleMotion
from avatarcall.avatar.recognizers import Recognizer
from avatarcall.avatar.renderer import make_renderer
from avatarcall.avatar.session import SessionConfig
from avatarcall.avatar.speech import SpeechSynthesizer
from avatarcall.avatar.stray import quiet_closed_connects
from avatarcall.avatar.wire import (
    Accepted,
    Command,
    Event,
    Hello,
    Load,
    Reply,
    Running,
    WireError,
    to_worker,
)
from avatarcall.errors import AvatarCallError, AvatarUnavailable
from avatarcall.ice.peers import PeerNetworks

log = logging.getLogger(__name__)

DRAIN_SECONDS = 600.0  # a draining worker leaves after this long even with sessions left
BACKOFF = (0.2, 0.5, 1.0, 2.0)  # seconds between attempts to reach the server
REFUSED = 4401  # the server will not have this worker: no point trying again
KEEP_SECONDS = 5.0  # cut off, sessions go on this long for a server to take them back


def calibrate(config: SessionConfig, frames: int = 30, warmup: int = 10) -> float:
    """Median render + encode time (ms) of this machine for ``config``: the first capacity
    estimate, before any session has run. Also warms fonts and codecs up."""
    from avatarcall.avatar.encoder import SharedVp8Encoder

    renderer = make_renderer(config.character, config.size, dict(config.palette) or None,
                             config.image_dir)
    encoder = SharedVp8Encoder(config.size, config.size, config.bitrate)
    motion = IdleMotion(seed=1)
    times = []
    for n in range(warmup + frames):
        t0 = time.perf_counter()
        rgba = renderer.draw(motion.pose(n / config.fps, speaking=n % 10 < 5))
        encoder.encode(rgba, n * (90_000 // config.fps), n == 0)
        if n >= warmup:  # the first frames load fonts and set the codec up
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


class Worker:
    def __init__(self, server_url: str, key: str, synthesizer: SpeechSynthesizer,
                 config: SessionConfig, *, worker_id: str | None = None,
                 peers: PeerNetworks | None = None, insecure: bool = False,
                 min_capacity: int = 1, parent: int | None = None,
                 recognizer: Recognizer | None = None) -> None:
        self.url = server_url.rstrip("/").replace("http", "ws", 1) + "/workers"
        self.key = key
        self.id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.config = config
        self.meter = CapacityMeter(config.fps, minimum=min_capacity)
        self._ssl = None
        if self.url.startswith("wss://") and insecure:  # a local worker of a self-signed server
            self._ssl = ssl.create_default_context()
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        # One thread renders: a worker is one core's worth (run one worker per core).
        self.control = LocalAvatarControl(synthesizer, config, list, workers=1,
                                          observer=self.meter, peers=peers, recognizer=recognizer)
        self.draining = False
        self.parent = parent  # a local worker's server: gone, the worker goes too
        self.stopping = asyncio.Event()
        self._cut_at: float | None = None  # since when no server has its sessions
        self._tasks: set[asyncio.Task[None]] = set()
        self._key_locks: dict[str, asyncio.Lock] = {}

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self) -> bool:
        """Serve until stopped (True), or until the server refuses this worker (False)."""
        loop = asyncio.get_running_loop()
        quiet_closed_connects(loop)
        loop.add_signal_handler(signal.SIGTERM, self._drain)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        watcher = loop.create_task(self._watch_parent(self.parent)) if self.parent else None
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calibrate")
        self.meter.calibrated_ms = await loop.run_in_executor(executor, calibrate, self.config)
        executor.shutdown()
        self.control.prepare()
        log.info("avatar worker %s: %.1f ms a frame, room for %d session(s)", self.id,
                 self.meter.calibrated_ms, self.meter.capacity(0))
        attempt = 0
        try:
            while not self.stopping.is_set():
                try:
                    await self._serve()
                    attempt = 0
                except InvalidStatus as exc:
                    log.error("avatar worker %s: the server refused it (%s)", self.id, exc)
                    if exc.response.status_code in (401, 403):
                        return False
                except (OSError, WebSocketException, TimeoutError, ValidationError) as exc:
                    log.info("avatar worker %s: no server (%s); trying again", self.id, exc)
                await self._end_tasks()
                if self.draining:
                    return True
                if self._cut_at is None:
                    self._cut_at = time.monotonic()
                elif time.monotonic() - self._cut_at >= KEEP_SECONDS:
                    await self._stop_sessions()  # the server restarts them elsewhere
                delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                attempt += 1
                try:
                    await asyncio.wait_for(self.stopping.wait(), delay)
                except TimeoutError:
                    pass
        finally:
            if watcher is not None:
                watcher.cancel()
            await self._stop_sessions()
            await self.control.close()
        return True

    async def _watch_parent(self, parent: int) -> None:
        """A server's own worker outlives it by a second at most (never an orphan that dials a
        dead address for ever)."""
        while os.getppid() == parent:
            await asyncio.sleep(1.0)
        log.warning("avatar worker %s: its server (pid %d) is gone; stopping", self.id, parent)
        self.stopping.set()

    def _drain(self) -> None:
        if self.draining:
            self.stopping.set()  # a second SIGTERM: now
            return
        log.info("avatar worker %s draining: no new sessions", self.id)
        self.draining = True

    async def _end_tasks(self) -> None:
        """The connection's work (reports, events, commands) ends with it."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _stop_sessions(self) -> None:
        await self._end_tasks()
        for key, _ in await self.control.running():
            await self.control.stop(key)

    def _own(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the connection -----------------------------------------------------------------

    async def _serve(self) -> None:
        async with connect(self.url, ssl=self._ssl, ping_interval=1, ping_timeout=3,
                           additional_headers={"Authorization": f"Bearer {self.key}"},
                           open_timeout=5) as ws:
            running = await self.control.running()
            hello = Hello(worker=self.id, pid=os.getpid(), host=socket.gethostname(),
                          capacity=self.meter.capacity(len(running)),
                          sessions=[Running(key=key, epoch=epoch) for key, epoch in running])
            await ws.send(hello.model_dump_json())
            accepted = to_worker.validate_json(await asyncio.wait_for(ws.recv(), 5))
            if not isinstance(accepted, Accepted):
                raise OSError(f"the server answered hello with {accepted.type}")
            self._cut_at = None
            for key, epoch in running:
                if key not in accepted.keep:
                    log.info("avatar worker %s: %s epoch %d not taken back; stopped", self.id,
                             key, epoch)
                    await self.control.stop(key)
            log.info("avatar worker %s joined %s (%d session(s) taken back)", self.id, self.url,
                     len(accepted.keep))
            self._own(self._report(ws, accepted.heartbeat))
            self._own(self._forward_events(ws))
            receive = asyncio.ensure_future(self._receive(ws))
            stop = asyncio.ensure_future(self.stopping.wait())
            try:
                done, _ = await asyncio.wait({receive, stop}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                receive.cancel()
                stop.cancel()
            if receive in done:
                receive.result()  # the connection's end, as an exception if it broke

    async def _receive(self, ws: ClientConnection) -> None:
        async for text in ws:
            message = to_worker.validate_json(text)
            if isinstance(message, Command):
                self._own(self._handle(ws, message))

    async def _report(self, ws: ClientConnection, every: float) -> None:
        while True:
            load = self.control.load()
            render, encode, late = self.meter.take_samples()
            await ws.send(Load(
                sessions=load.sessions, viewers=load.viewers,
                capacity=0 if self.draining else self.meter.capacity(load.sessions),
                frame_ms=self.meter.frame_ms(), render_ms=render, encode_ms=encode,
                late_frames=late, draining=self.draining).model_dump_json())
            if self.draining and load.sessions == 0:
                log.info("avatar worker %s drained", self.id)
                self.stopping.set()
                await ws.close()
                return
            await asyncio.sleep(every)

    async def _forward_events(self, ws: ClientConnection) -> None:
        async for event in self.control.events():
            match event:
                case AvatarFailed():
                    message = Event(kind="failed", key=event.key, epoch=event.epoch,
                                    code=event.code, message=event.message,
                                    retryable=event.retryable)
                case ViewerLinkChanged():
                    message = Event(kind="link", key=event.key, epoch=event.epoch,
                                    viewer=event.viewer, state=event.state)
                case Heard():
                    message = Event(kind="heard", key=event.key, epoch=event.epoch,
                                    text=event.text)
                case _:
                    continue  # a freed slot: the server counts its own
            await ws.send(message.model_dump_json())

    async def _handle(self, ws: ClientConnection, command: Command) -> None:
        # One key's commands run in the order they came (start before answer before stop);
        # different keys' run side by side.
        lock = self._key_locks.setdefault(command.key, asyncio.Lock())
        async with lock:
            try:
                reply = await self._do(command)
            except AvatarCallError as exc:
                reply = Reply(id=command.id, error=WireError(
                    code=exc.code, message=exc.message, retryable=exc.retryable))
            except Exception:
                log.exception("avatar worker %s: %s failed", self.id, command.op)
                reply = Reply(id=command.id, error=WireError(
                    code="internal", message="The avatar worker failed."))
        if not lock.locked() and self._key_locks.get(command.key) is lock:
            del self._key_locks[command.key]
        await ws.send(reply.model_dump_json())

    async def _do(self, c: Command) -> Reply:
        control = self.control
        match c.op:
            case "start":
                if self.draining:
                    raise AvatarUnavailable("This avatar worker is draining.")
                return Reply(id=c.id, epoch=await control.start(c.key, c.language or "en",
                                                                epoch=c.epoch))
            case "stop":
                await control.stop(c.key)
            case "say":
                await control.say(c.key, c.text or "", when_watched=c.when_watched,
                                  language=c.language, append=c.append)
            case "interrupt":
                await control.interrupt(c.key)
            case "use_voice":
                await control.use_voice(c.key, c.viewer)
            case "answer":
                sdp = await control.answer(c.key, c.epoch or 0, c.viewer or "", c.sdp or "",
                                           audience=c.audience, ice_servers=c.ice_servers or [])
                return Reply(id=c.id, sdp=sdp)
            case "drop_viewer":
                await control.drop_viewer(c.key, c.viewer or "")
            case "fault":
                return Reply(id=c.id, epoch=await control.fault(c.key, c.fault or "crash"))
        return Reply(id=c.id)
