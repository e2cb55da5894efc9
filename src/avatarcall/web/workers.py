"""The WebSocket avatar workers dial in on (``/workers``): authenticate, then hand the worker's
messages to the pool (``avatar/pool.py``). Transport only."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from avatarcall.avatar.pool import HEARTBEAT
from avatarcall.avatar.wire import PROTOCOL, Accepted, Hello, from_worker
from avatarcall.services import Services
from avatarcall.web.deps import socket_services

log = logging.getLogger(__name__)

router = APIRouter()

CLOSE_REFUSED = 4401
CLOSE_PROTOCOL = 1008
CLOSE_DUPLICATE = 4409


class SocketLink:
    """A worker's socket: one writer at a time."""

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws
        self._lock = asyncio.Lock()

    async def send(self, text: str) -> None:
        async with self._lock:
            try:
                await self._ws.send_text(text)
            except (WebSocketDisconnect, RuntimeError):  # gone, or closed by us meanwhile
                raise ConnectionError("the avatar worker's socket is closed") from None

    async def close(self) -> None:
        try:
            await self._ws.close(code=CLOSE_PROTOCOL, reason="silent")
        except RuntimeError:
            pass  # already closed


async def _local(services: Services, key: str) -> bool | None:
    """True for this server's own workers, False for a remote worker's valid key, None else."""
    if services.local_workers is not None and services.local_workers.owns(key):
        return True
    return False if await asyncio.to_thread(services.worker_keys.check, key) else None


@router.websocket("/workers")
async def worker_socket(ws: WebSocket) -> None:
    services = socket_services(ws)
    pool = services.worker_pool
    header = ws.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else ""
    local = await _local(services, key) if key and pool is not None else None
    if pool is None or local is None:
        log.warning("avatar worker refused: %s", "avatars run in this process" if pool is None
                    else "no valid worker key")
        await ws.close(code=CLOSE_REFUSED)  # before accepting: the client sees 403
        return
    await ws.accept()
    try:
        hello = from_worker.validate_json(await asyncio.wait_for(ws.receive_text(), 10))
    except (TimeoutError, ValidationError, WebSocketDisconnect, KeyError):
        await ws.close(code=CLOSE_PROTOCOL)
        return
    if not isinstance(hello, Hello) or hello.protocol != PROTOCOL:
        await ws.close(code=CLOSE_PROTOCOL, reason="hello first, protocol 1")
        return
    link = SocketLink(ws)
    if not pool.join(hello, link, local=local):
        await ws.close(code=CLOSE_DUPLICATE, reason="a worker of that id is here")
        return
    try:
        keep = await pool.adopt(hello.worker, hello.sessions)
        await link.send(Accepted(heartbeat=HEARTBEAT, keep=keep).model_dump_json())
        while True:
            text = await ws.receive_text()
            try:
                message = from_worker.validate_json(text)
            except ValidationError as exc:
                log.warning("avatar worker %s sent a bad message: %s", hello.worker,
                            exc.errors()[0].get("msg"))
                continue
            if not isinstance(message, Hello):
                await pool.received(hello.worker, message)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):  # (ours: SocketLink.send)
        pass
    finally:
        await pool.leave(hello.worker, link)
