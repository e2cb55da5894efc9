"""Per-viewer media tracks fed by an avatar session's fan-out.

Each viewer gets its own bounded queues; a slow viewer drops its own frames and never slows
the session or the other viewers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from avatarcall.avatar.encoder import EncodedFrame

# An encoded chunk, or raw audio for a sender to encode (the per-viewer comparison in the bench).
Sound = av.Packet | av.AudioFrame


class PacketVideoTrack(MediaStreamTrack):
    """Video made of already-encoded VP8 packets (aiortc packs them without re-encoding)."""

    kind = "video"

    def __init__(self, request_keyframe: Callable[[], None], max_frames: int = 25) -> None:
        super().__init__()
        self._queue: asyncio.Queue[EncodedFrame | None] = asyncio.Queue(max_frames)
        self._request_keyframe = request_keyframe
        self._synced = False  # a viewer can only start decoding at a keyframe
        self.frames_sent = 0
        self.frames_dropped = 0

    def push(self, frame: EncodedFrame) -> None:
        if self.readyState != "live":
            return
        if not self._synced:
            if not frame.keyframe:
                self.frames_dropped += 1
                self._request_keyframe()
                return
            self._synced = True
        if self._queue.full():
            # This viewer fell behind: start it again from the next keyframe.
            self.frames_dropped += self._queue.qsize() + 1
            while not self._queue.empty():
                self._queue.get_nowait()
            self._synced = False
            self._request_keyframe()
            return
        self._queue.put_nowait(frame)

    def resync(self) -> None:
        """Start again from the next keyframe (this viewer moved to another layer)."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._synced = False

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            raise MediaStreamError
        self.frames_sent += 1
        return frame.packet

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)


class FanoutAudioTrack(MediaStreamTrack):
    """The session's 20 ms Opus packets (aiortc sends them as they are, nothing re-encoded)."""

    kind = "audio"

    def __init__(self, max_frames: int = 50) -> None:
        super().__init__()
        self._queue: asyncio.Queue[Sound | None] = asyncio.Queue(max_frames)

    def push(self, sound: Sound) -> None:
        if self.readyState != "live":
            return
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(sound)

    def flush(self) -> None:
        """Drop audio not yet sent (an interruption must be heard at once)."""
        while not self._queue.empty():
            self._queue.get_nowait()

    async def recv(self) -> Sound:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        sound = await self._queue.get()
        if sound is None:
            raise MediaStreamError
        return sound

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)
