"""What the suite's avatar tests share: an aiortc viewer of a call's avatar, and waiting for a
server to show something (its ``/healthz``, frames arriving)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription
from websockets.asyncio.client import ClientConnection

from avatarcall.testing.server import Server
from avatarcall.testing.signaling import receive, send

FRAME_TIMEOUT = 15.0


def health(server: Server) -> dict[str, Any]:
    return httpx.get(f"{server.url}/healthz", timeout=10).json()


async def until(check: Callable[[], Any], seconds: float = 20.0) -> Any:
    """``check()``'s first true value, asked every 0.1 s; AssertionError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


@asynccontextmanager
async def watching(ws: ClientConnection, call_id: str, epoch: int) -> AsyncIterator[list[Any]]:
    """An aiortc viewer of the call's avatar of ``epoch``; yields its frames as they come."""
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    frames: list[Any] = []
    tasks: list[asyncio.Task[None]] = []

    async def pull(track: Any) -> None:
        while True:
            frames.append(await track.recv())

    pc.on("track", lambda track: tasks.append(asyncio.ensure_future(pull(track)))
          if track.kind == "video" else None)
    await pc.setLocalDescription(await pc.createOffer())
    await send(ws, {"type": "avatar.offer", "call_id": call_id, "epoch": epoch,
                    "sdp": pc.localDescription.sdp})
    answer = await receive(ws, "avatar.answer", epoch=epoch)
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    try:
        yield frames
    finally:
        for task in tasks:
            task.cancel()
        await pc.close()


async def frames_arrive(frames: list[Any], count: int = 5) -> None:
    start = len(frames)
    await until(lambda: len(frames) >= start + count, FRAME_TIMEOUT)
