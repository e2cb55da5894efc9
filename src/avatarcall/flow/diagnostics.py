"""Short-lived avatar streams for /diagnostics and ``avatarcall diagnose``: anyone may check that
an avatar reaches their browser. They take their avatar from the same seats as calls (never
waiting in line: busy is busy), stop by themselves, and free their seat for the calls in line.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from avatarcall.avatar.control import AvatarControl
from avatarcall.errors import AvatarCallError, AvatarUnavailable
from avatarcall.flow.seats import AvatarSeats

log = logging.getLogger(__name__)

STREAM_SECONDS = 30.0  # a diagnostic avatar stops by itself after this long
MAX_SESSIONS = 3  # at once, for the whole server: diagnostics must never crowd out calls
VIEWER = "diagnostics"
PHRASE = {
    "fr": "Ceci est un test de l'avatar. Si vous me voyez et m'entendez, tout fonctionne.",
    "en": "This is a test of the avatar. If you can see and hear me, everything works.",
}


@dataclass(frozen=True)
class DiagnosticStream:
    session: str
    sdp: str
    seconds: float


class DiagnosticSessions:
    """Each diagnostic avatar stops itself (an owned timer task)."""

    def __init__(self, seats: AvatarSeats, avatars: AvatarControl) -> None:
        self._seats = seats
        self._avatars = avatars
        self._timers: dict[str, asyncio.Task[None]] = {}

    @property
    def running(self) -> int:
        return len(self._timers)

    async def open(self, sdp: str, language: str) -> DiagnosticStream:
        if len(self._timers) >= MAX_SESSIONS:
            raise AvatarUnavailable("Too many diagnostics are running; try again in a minute.")
        key = f"diag-{uuid.uuid4().hex[:12]}"
        language = "fr" if language.lower().startswith("fr") else "en"
        self._timers[key] = asyncio.get_running_loop().create_task(self._expire(key))
        try:
            epoch = await self._seats.take(key, language, wait=False)
            if epoch is None:  # not with wait=False; for the type checker
                raise AvatarUnavailable("Every avatar is in use; try again in a minute.")
            answer = await self._avatars.answer(key, epoch, VIEWER, sdp, audience=True)
            await self._avatars.say(key, PHRASE[language], when_watched=True)
        except AvatarCallError:
            await self.close_one(key)
            raise
        log.info("diagnostic avatar started session=%s", key)
        return DiagnosticStream(session=key, sdp=answer, seconds=STREAM_SECONDS)

    async def _expire(self, key: str) -> None:
        await asyncio.sleep(STREAM_SECONDS)
        self._timers.pop(key, None)
        await self._seats.release(key)

    async def close_one(self, key: str) -> None:
        task = self._timers.pop(key, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._seats.release(key)

    async def close(self) -> None:
        for key in list(self._timers):
            await self.close_one(key)
