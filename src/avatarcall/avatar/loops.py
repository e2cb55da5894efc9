"""The overlay mode's loops: our character, idle and talking, rendered once by our own renderer
and kept as short WebM files the pages play locally (the report's "looping video of the avatar",
done with the real character instead of a generic face).

Each loop is periodic: every motion in it (breathing, sway, tilt, a blink, the syllables of
speech) completes whole cycles over the loop, so its last frame leads into its first with no
jump. Files are made on first use, off the event loop, one at a time, and cached on disk under a
name that changes with the character, its palette, the size and ``VERSION``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import av
import numpy as np

from avatarcall.avatar.motion import FacePose
from avatarcall.avatar.renderer import Renderer
from avatarcall.avatar.visemes import from_openness

log = logging.getLogger(__name__)

LoopKind = Literal["idle", "talking"]
KINDS: tuple[LoopKind, ...] = ("idle", "talking")
SECONDS: dict[LoopKind, float] = {"idle": 4.0, "talking": 2.0}
FPS = 25
SYLLABLES = 9  # the talking loop's mouth opens this many times per loop
VERSION = 1  # bump when the motion or the encoding changes: caches are made again


def loop_pose(kind: LoopKind, phase: float) -> FacePose:
    """The pose at ``phase`` (0..1) of a loop; ``loop_pose(k, 1.0)`` equals ``loop_pose(k, 0.0)``."""
    w = 2.0 * math.pi * phase
    talking = kind == "talking"
    blink = 0.0
    if not talking:  # one blink in the idle loop, well inside it (not across its ends)
        at = (phase - 0.55) * SECONDS["idle"] / 0.16
        blink = math.sin(math.pi * at) if 0.0 <= at <= 1.0 else 0.0
    opening = 0.0
    if talking:
        # Syllables of uneven height, as speech has: whole cycles, so the loop closes.
        beat = max(0.0, math.sin(SYLLABLES * w))
        opening = beat * (0.55 + 0.3 * math.sin(3 * w) ** 2)
    return FacePose(
        mouth=opening, blink=blink,
        gaze_x=0.15 * math.sin(w), gaze_y=0.05 * math.sin(2 * w),
        head_x=2.5 * math.sin(w) + (1.0 * math.sin(4 * w) if talking else 0.0),
        head_y=1.5 * math.sin(2 * w + 1.0),
        tilt=1.2 * math.sin(w) + (0.6 * math.sin(3 * w) if talking else 0.0),
        breathe=0.5 - 0.5 * math.cos(w),
        brow=0.35 * max(0.0, math.sin(2 * w)) if talking else 0.0,
        visemes=from_openness(opening),
        turn=0.25 * math.sin(w),
        smile=0.35 if talking else 1.0,
    )


def frames(renderer: Renderer, kind: LoopKind) -> Iterator[np.ndarray]:
    count = round(SECONDS[kind] * FPS)
    for i in range(count):
        yield renderer.render(loop_pose(kind, i / count))


def encode_webm(rgba_frames: Iterator[np.ndarray], size: int) -> bytes:
    """VP8 in WebM, every frame of good quality (it is made once and played many times)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=FPS)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 800_000
        stream.options = {"deadline": "good", "cpu-used": "4", "auto-alt-ref": "0"}
        for rgba in rgba_frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgba[:, :, :3]), format="rgb24")
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


class OverlayLoops:
    """The loops of one character and palette, made on first use and kept in ``directory``."""

    def __init__(self, directory: Path, make_renderer: Callable[[], Renderer], *,
                 identity: dict[str, object]) -> None:
        self._directory = directory
        self._make_renderer = make_renderer
        tag = json.dumps({**identity, "version": VERSION}, sort_keys=True, default=str)
        self._tag = hashlib.sha256(tag.encode()).hexdigest()[:12]
        self._lock = asyncio.Lock()

    def file(self, kind: LoopKind) -> Path:
        return self._directory / f"{kind}-{self._tag}.webm"

    async def path(self, kind: LoopKind) -> Path:
        """The loop's file, made now if it is not there yet."""
        target = self.file(kind)
        if target.exists():
            return target
        async with self._lock:  # one rendering at a time, whoever asks
            if not target.exists():
                await asyncio.to_thread(self._make, kind, target)
        return target

    async def prepare(self) -> None:
        """Make whatever loop is missing (at start, so the first overlay is not waiting)."""
        for kind in KINDS:
            try:
                await self.path(kind)
            except Exception:  # the overlay draws a simple face without them
                log.exception("overlay loop could not be made kind=%s", kind)

    def _make(self, kind: LoopKind, target: Path) -> None:
        renderer = self._make_renderer()
        data = encode_webm(frames(renderer, kind), renderer.size)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(target)  # never half a file under the real name
        log.info("overlay loop made kind=%s bytes=%d file=%s", kind, len(data), target.name)
