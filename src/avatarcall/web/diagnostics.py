"""The diagnostics API behind /diagnostics and ``avatarcall diagnose``: anyone may test their
browser and network against this server. It hands out ICE servers with fresh credentials, and
answers a short avatar stream over plain HTTP (WHEP-style offer/answer), independent of calls."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from avatarcall.errors import AvatarUnavailable, BadSdp

log = logging.getLogger(__name__)

router = APIRouter()

STREAM_SECONDS = 30.0  # a diagnostic avatar stops by itself after this long
MAX_SESSIONS = 3  # at once, for the whole server: diagnostics must never crowd out calls
PHRASE = {
    "fr": "Ceci est un test de l'avatar. Si vous me voyez et m'entendez, tout fonctionne.",
    "en": "This is a test of the avatar. If you can see and hear me, everything works.",
}


class DiagnosticOffer(BaseModel):
    sdp: str = Field(min_length=1, max_length=32_000)
    language: str = Field(default="en", max_length=35)


class DiagnosticAnswer(BaseModel):
    session: str
    sdp: str
    seconds: float


class DiagnosticSessions:
    """Short-lived avatar sessions for diagnostics; each stops itself (an owned task)."""

    def __init__(self, avatars: Any) -> None:
        self._avatars = avatars
        self._timers: dict[str, asyncio.Task[None]] = {}

    async def open(self, offer: DiagnosticOffer) -> DiagnosticAnswer:
        if len(self._timers) >= MAX_SESSIONS:
            raise AvatarUnavailable("Too many diagnostics are running; try again in a minute.")
        key = f"diag-{uuid.uuid4().hex[:12]}"
        language = "fr" if offer.language.lower().startswith("fr") else "en"
        session = await self._avatars.start(key, language)
        self._timers[key] = asyncio.get_running_loop().create_task(self._expire(key))
        try:
            sdp = await self._avatars.connect(key, session.epoch, "diagnostics", True, offer.sdp)
        except BadSdp:
            await self.close_one(key)
            raise
        session.say(PHRASE[language], when_watched=True)
        log.info("diagnostic avatar started session=%s", key)
        return DiagnosticAnswer(session=key, sdp=sdp, seconds=STREAM_SECONDS)

    async def _expire(self, key: str) -> None:
        await asyncio.sleep(STREAM_SECONDS)
        self._timers.pop(key, None)
        await self._avatars.stop(key)

    async def close_one(self, key: str) -> None:
        task = self._timers.pop(key, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._avatars.stop(key)

    async def close(self) -> None:
        for key in list(self._timers):
            await self.close_one(key)


def _sessions(request: Request) -> DiagnosticSessions:
    state = request.app.state
    if getattr(state, "diagnostics", None) is None:
        state.diagnostics = DiagnosticSessions(state.services.avatars)
    return state.diagnostics  # type: ignore[no-any-return]


@router.get("/api/diagnostics/config")
async def diagnostics_config(request: Request) -> dict[str, Any]:
    """ICE servers (with fresh TURN credentials) for the checks, and what is configured."""
    services = request.app.state.services
    ice = services.calls.ice
    return {
        "ice_servers_call": ice.for_page("call", "diagnostics"),
        "ice_servers_avatar": ice.for_page("avatar", "diagnostics"),
        "stun_configured": bool(ice.config.stun_urls),
        "turn_configured": ice.config.pool("call") is not None,
        "relay_only": services.settings.ice_relay_only,
    }


@router.post("/api/diagnostics/avatar", response_model=DiagnosticAnswer)
async def diagnostics_avatar(body: DiagnosticOffer, request: Request) -> DiagnosticAnswer:
    """Answer an offer with a diagnostic avatar that speaks a test phrase and stops by itself."""
    return await _sessions(request).open(body)
