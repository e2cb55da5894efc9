"""The signaling WebSocket: transport only (authenticate, parse, dispatch, write)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from avatarcall.calls.models import Role
from avatarcall.errors import AvatarCallError, BadMessage, RateLimited
from avatarcall.signaling import messages as m
from avatarcall.web.identity import AGENT_COOKIE
from avatarcall.web.ratelimit import TokenBucket

log = logging.getLogger(__name__)

router = APIRouter()

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4408
CLOSE_DROPPED = 4000
OUTBOX = 512


class Connection:
    """One browser tab; implements the call service's ``Peer``. Writes go through a bounded outbox."""

    def __init__(self, ws: WebSocket, role: Role, name: str, call_id: str | None) -> None:
        self.ws = ws
        self.role = role
        self.name = name
        self.call_id = call_id
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(OUTBOX)
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.close_code = CLOSE_TOO_SLOW
        # Telemetry is the chattiest message a page sends: a page that floods it is told so and
        # its excess is dropped; nothing else it does is slowed down.
        self.telemetry_bucket = TokenBucket(rate=5, burst=20)

    def send(self, message: m.ServerMessage) -> None:
        try:
            self._outbox.put_nowait(message.model_dump_json(exclude_none=True))
        except asyncio.QueueFull:
            log.warning("signaling outbox full, closing role=%s call=%s", self.role, self.call_id)
            self.close()
            self.close_code = CLOSE_TOO_SLOW

    def close(self) -> None:
        """Close from the server side (the page reconnects by itself)."""
        while not self._outbox.empty():
            self._outbox.get_nowait()
        self._outbox.put_nowait(None)
        self.close_code = CLOSE_DROPPED

    def error(self, exc: AvatarCallError, request: str | None = None) -> None:
        self.send(m.ErrorMessage(code=exc.code, message=exc.message, retryable=exc.retryable,
                                 request=request))

    async def write_loop(self) -> None:
        while True:
            text = await self._outbox.get()
            if text is None:
                await self.ws.close(code=self.close_code)
                return
            await self.ws.send_text(text)

    def side_task(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def close_side_tasks(self) -> None:
        tasks = list(self._side_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@router.websocket("/ws")
async def signaling(ws: WebSocket, token: str | None = None, resume: str | None = None) -> None:
    services = ws.app.state.services
    await ws.accept()
    try:
        who = services.auth.identify(ws.cookies.get(AGENT_COOKIE), token)
        call_id = who.call_id
        if who.role is Role.AGENT and resume:
            call_id = services.auth.resume(resume, who.name)
        conn = Connection(ws, who.role, who.name, call_id)
        await services.calls.connect(conn)
    except AvatarCallError as exc:
        await ws.send_text(m.ErrorMessage(code=exc.code, message=exc.message).model_dump_json())
        await ws.close(code=CLOSE_UNAUTHENTICATED, reason=exc.code)
        return
    writer = asyncio.create_task(conn.write_loop(), name=f"ws-writer-{who.role}")
    try:
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                break
            raw = frame.get("text")
            if raw is None:
                conn.error(BadMessage("messages are JSON in text frames, not binary"))
                continue
            await _dispatch(services, conn, raw)
    except WebSocketDisconnect:
        pass
    except Exception:  # the transport broke under us; the call's media does not depend on it
        log.exception("signaling connection failed role=%s call=%s", conn.role, conn.call_id)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await conn.close_side_tasks()
        await services.calls.disconnect(conn)


async def _dispatch(services: object, conn: Connection, raw: str) -> None:
    calls = services.calls  # type: ignore[attr-defined]
    try:
        msg = m.parse_client_message(raw)
    except BadMessage as exc:
        conn.error(exc)
        return

    async def run() -> None:
        try:
            await calls.handle(conn, msg)
        except AvatarCallError as exc:
            conn.error(exc, request=msg.type)
        except Exception:
            log.exception("message failed type=%s role=%s call=%s", msg.type, conn.role, conn.call_id)
            conn.error(AvatarCallError("Something went wrong on the server."), request=msg.type)

    if isinstance(msg, m.Telemetry) and not conn.telemetry_bucket.take():
        services.metrics.telemetry_rejected.labels(code=RateLimited.code).inc()  # type: ignore[attr-defined]
        conn.error(RateLimited("Too many telemetry messages; some were dropped."), request=msg.type)
        return
    if isinstance(msg, m.AvatarOffer):
        # Answering an avatar offer takes aiortc a moment; the call's signaling never waits for it.
        conn.side_task(run())
    else:
        await run()
