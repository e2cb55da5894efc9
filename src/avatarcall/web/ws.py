"""The signaling WebSocket: transport only (authenticate, parse, dispatch, write)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from avatarcall.calls.models import Role
from avatarcall.errors import AvatarCallError, BadMessage, BadOrigin, RateLimited, SessionEnded
from avatarcall.flow.ports import Tab
from avatarcall.services import Services
from avatarcall.signaling import messages as m
from avatarcall.web.deps import socket_services
from avatarcall.web.identity import AGENT_COOKIE, Identity
from avatarcall.web.origins import origin_allowed
from avatarcall.web.ratelimit import TokenBucket

log = logging.getLogger(__name__)

router = APIRouter()

# Close codes (docs/security.md). 1008 and 1009 are the standard "policy violation" and "message
# too big"; the 4xxx ones are ours, after the HTTP status they resemble.
CLOSE_POLICY = 1008  # kept flooding after being told (rate_limited)
CLOSE_TOO_BIG = 1009  # a frame over MAX_MESSAGE (uvicorn's ws_max_size closes first under `serve`)
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_ORIGIN = 4403
CLOSE_TOO_SLOW = 4408  # reads too slowly (outbox full), or silent past the idle timeout
CLOSE_REPLACED = 4409  # a newer socket of the same participant took over
CLOSE_DROPPED = 4000
OUTBOX = 512
MAX_MESSAGE = 64 * 1024
# Beyond the message bucket, this many more messages may be dropped (refilled at FLOOD_RATE/s)
# before the connection is closed: a page that is told "rate_limited" and slows down survives.
FLOOD_ALLOWANCE = 100
FLOOD_RATE = 10.0
SESSION_CHECK_SECONDS = 3.0


class Connection:
    """One browser tab's socket (the peer bus's outlet for it). Writes go through a bounded
    outbox."""

    def __init__(self, ws: WebSocket, tab: Tab, rate: float = 50.0, burst: int = 200) -> None:
        self.ws = ws
        self.tab = tab
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(OUTBOX)
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.close_code = CLOSE_TOO_SLOW
        self.close_reason = ""
        self.closing = False
        # Every message counts against one bucket (generous: ICE candidates come in bursts); the
        # excess is dropped and the page told so, at most once a second; a page that keeps on
        # flooding is closed.
        self.bucket = TokenBucket(rate=rate, burst=burst)
        self.flood = TokenBucket(rate=FLOOD_RATE, burst=FLOOD_ALLOWANCE)
        self._told_at = -1.0
        # Telemetry is the chattiest message a page sends: a page that floods it is told so and
        # its excess is dropped; nothing else it does is slowed down.
        self.telemetry_bucket = TokenBucket(rate=5, burst=20)
        # Fresh TURN credentials: a page asks once per credential lifetime (minutes); a few in a
        # row are allowed (reconnects), a stream of them is not.
        self.refresh_bucket = TokenBucket(rate=1 / 30, burst=3)

    def send(self, message: m.ServerMessage) -> None:
        try:
            self._outbox.put_nowait(message.model_dump_json(exclude_none=True))
        except asyncio.QueueFull:
            log.warning("signaling outbox full, closing role=%s tab=%s", self.tab.role, self.tab.id)
            self.close()
            self.close_code = CLOSE_TOO_SLOW

    def close(self, code: int = CLOSE_DROPPED) -> None:
        """Close from the server side (the page reconnects by itself)."""
        while not self._outbox.empty():
            self._outbox.get_nowait()
        self._outbox.put_nowait(None)
        self.close_code = code
        self.closing = True

    def refuse(self, exc: AvatarCallError, code: int = CLOSE_UNAUTHENTICATED) -> None:
        """Tell the page why, then close for good (4401, 4409: the SDK does not come back)."""
        while not self._outbox.empty():
            self._outbox.get_nowait()
        self._outbox.put_nowait(m.ErrorMessage(code=exc.code, message=exc.message).model_dump_json(
            exclude_none=True))
        self._outbox.put_nowait(None)
        self.close_code = code
        self.close_reason = exc.code
        self.closing = True

    def replaced(self) -> None:
        if not self.closing:
            self.refuse(AvatarCallError("This call continues in another tab or window.",
                                        code="replaced"), CLOSE_REPLACED)

    def admit(self) -> bool:
        """Whether the next message is within the rate; tells the page when it is not, and closes
        a connection that keeps flooding."""
        if self.bucket.take():
            return True
        if not self.flood.take():
            log.warning("signaling flood, closing role=%s tab=%s", self.tab.role, self.tab.id)
            self.close(CLOSE_POLICY)
            return False
        now = time.monotonic()
        if now - self._told_at >= 1.0:
            self._told_at = now
            self.error(RateLimited("Too many messages; some were dropped. Slow down."))
        return False

    def error(self, exc: AvatarCallError, request: str | None = None) -> None:
        self.send(m.ErrorMessage(code=exc.code, message=exc.message, retryable=exc.retryable,
                                 request=request))

    async def write_loop(self) -> None:
        while True:
            text = await self._outbox.get()
            if text is None:
                await self.ws.close(code=self.close_code, reason=self.close_reason)
                return
            await self.ws.send_text(text)

    def side_task(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def close_side_tasks(self) -> None:
        tasks = list(self._side_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _seen(since: str | None, call_id: str | None) -> int | None:
    """``since=CALL:SEQ``, the last message a page that comes back saw of its call: SEQ if the
    call is the one this socket is for. Anything else is ignored: the page is sent what follows
    now, as a new one would be."""
    if not since or call_id is None:
        return None
    call, _, seq = since.partition(":")
    if call != call_id or not seq.isdigit() or len(seq) > 12:
        log.info("signaling: since=%r ignored (call %s)", since[:80], call_id)
        return None
    return int(seq)


async def _refuse(ws: WebSocket, exc: AvatarCallError, code: int) -> None:
    """Tell the page why, and close; a client already gone (it often is, having sent something
    it should not) needs neither."""
    try:
        await ws.send_text(m.ErrorMessage(code=exc.code, message=exc.message).model_dump_json(
            exclude_none=True))
        await ws.close(code=code, reason=exc.code)
    except WebSocketDisconnect:
        log.info("refused a socket that had already gone (%s)", exc.code)


@router.websocket("/ws")
async def signaling(ws: WebSocket, token: str | None = None, resume: str | None = None,
                    since: str | None = None) -> None:
    services = socket_services(ws)
    settings = services.settings
    await ws.accept()
    origin = ws.headers.get("origin")
    if not origin_allowed(origin, ws.headers.get("host"), settings.allowed_origins):
        log.warning("signaling refused: origin %r is not allowed", origin[:200] if origin else origin)
        await _refuse(ws, BadOrigin("This page may not connect here (its origin is not allowed)."),
                      CLOSE_BAD_ORIGIN)
        return
    try:
        who = await services.agents.current(
            services.auth.identify(ws.cookies.get(AGENT_COOKIE), token))
        call_id = who.call_id
        if who.role is Role.AGENT and resume:
            call_id = services.auth.resume(resume, who.name)
        if who.role is Role.CUSTOMER and who.language is not None:
            await services.calls.open_invite(call_id or "", who.name, who.language)
    except AvatarCallError as exc:
        await _refuse(ws, exc, CLOSE_UNAUTHENTICATED)
        return
    seen = _seen(since, call_id)
    tab = Tab(id=services.bus.new_tab_id(), role=who.role, name=who.name)
    conn = Connection(ws, tab, rate=settings.ws_messages_per_second, burst=settings.ws_message_burst)
    services.bus.attach(tab, conn)
    writer = asyncio.create_task(conn.write_loop(), name=f"ws-writer-{who.role}")
    try:
        try:
            await services.calls.connect(tab, call_id, seen)
        except AvatarCallError as exc:
            conn.refuse(exc)
            await asyncio.wait_for(asyncio.shield(writer), 5)
            return
        if who.role is Role.AGENT:
            conn.side_task(_watch_session(services, conn, who))
        await _receive(services, conn)
    except WebSocketDisconnect:
        pass
    except Exception:  # the transport broke under us; the call's media does not depend on it
        log.exception("signaling connection failed role=%s tab=%s", tab.role, tab.id)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await conn.close_side_tasks()
        # Whatever happened after the tab was attached, its participant gets the grace period:
        # a call is never left waiting for a page that is gone.
        try:
            await services.calls.disconnect(tab)
        finally:
            services.bus.detach(tab.id)


async def _receive(services: Services, conn: Connection) -> None:
    ws, tab = conn.ws, conn.tab
    idle = services.settings.ws_idle_timeout
    while True:
        try:
            frame = await asyncio.wait_for(ws.receive(), idle)
        except TimeoutError:
            if conn.closing:
                return  # closed and still no answer: the other end is gone
            log.info("signaling idle for %.0f s, closing role=%s tab=%s", idle, tab.role, tab.id)
            conn.close(CLOSE_TOO_SLOW)
            continue
        if frame["type"] == "websocket.disconnect":
            return
        if conn.closing or not conn.admit():
            continue
        raw = frame.get("text")
        if raw is None:
            conn.error(BadMessage("messages are JSON in text frames, not binary"))
            continue
        if len(raw) > MAX_MESSAGE:
            log.warning("signaling message too big (%d chars), closing role=%s tab=%s",
                        len(raw), tab.role, tab.id)
            conn.close(CLOSE_TOO_BIG)
            continue
        await _dispatch(services, conn, raw)


async def _watch_session(services: Services, conn: Connection, who: Identity) -> None:
    """An agent's socket lasts as long as their session: removed, signed out everywhere, or
    their account changed, it is closed within ``SESSION_CHECK_SECONDS`` (plus the directory's
    cache)."""
    while True:
        await asyncio.sleep(SESSION_CHECK_SECONDS)
        try:
            await services.agents.current(who)
        except SessionEnded as exc:
            log.info("agent session ended, closing its socket name=%s", who.name)
            conn.refuse(exc)
            return
        except Exception:  # a locked or broken database: keep watching, never stop checking
            log.exception("agent session check failed name=%s", who.name)


async def _dispatch(services: Services, conn: Connection, raw: str) -> None:
    try:
        msg = m.parse_client_message(raw)
    except BadMessage as exc:
        conn.error(exc)
        return

    async def run() -> None:
        try:
            await services.calls.handle(conn.tab, msg)
        except AvatarCallError as exc:
            conn.error(exc, request=msg.type)
        except Exception:
            log.exception("message failed type=%s role=%s tab=%s call=%s", msg.type,
                          conn.tab.role, conn.tab.id, getattr(msg, "call_id", None))
            conn.error(AvatarCallError("Something went wrong on the server."), request=msg.type)

    if isinstance(msg, m.RefreshIce) and not conn.refresh_bucket.take():
        conn.error(RateLimited("Too many credential refreshes; ask again in a minute."),
                   request=msg.type)
        return
    if isinstance(msg, m.Telemetry) and not conn.telemetry_bucket.take():
        services.metrics.telemetry_rejected.labels(code=RateLimited.code).inc()
        conn.error(RateLimited("Too many telemetry messages; some were dropped."), request=msg.type)
        return
    if isinstance(msg, m.AvatarOffer):
        # Answering an avatar offer takes aiortc a moment; the call's signaling never waits for it.
        conn.side_task(run())
    else:
        await run()
