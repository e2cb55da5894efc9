"""The diagnostics API behind /diagnostics and ``avatarcall diagnose``: anyone may test their
browser and network against this server. It hands out ICE servers with fresh credentials, and
answers a short avatar stream over plain HTTP (WHEP-style offer/answer), independent of calls
(``flow/diagnostics.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from avatarcall.errors import TooManyRequests
from avatarcall.services import Services
from avatarcall.web.deps import ServicesDep

router = APIRouter()


class DiagnosticOffer(BaseModel):
    sdp: str = Field(min_length=1, max_length=32_000)
    language: str = Field(default="en", max_length=35)


class DiagnosticAnswer(BaseModel):
    session: str
    sdp: str
    seconds: float


def _limited(services: Services, request: Request) -> None:
    """Anyone may run diagnostics, but not mint TURN credentials or avatars in bulk."""
    address = f"address:{request.client.host if request.client else '-'}"
    wait = services.diagnostics_limiter.retry_after(address)
    if wait is not None:
        raise TooManyRequests(f"Too many diagnostics from here. Try again in {wait} s.",
                              retry_after=wait)
    services.diagnostics_limiter.record(address)


@router.get("/api/diagnostics/config")
async def diagnostics_config(services: ServicesDep, request: Request) -> dict[str, Any]:
    """ICE servers (with fresh TURN credentials) for the checks, and what is configured."""
    _limited(services, request)
    ice = services.calls.ice
    return {
        "ice_servers_call": ice.for_page("call", "diagnostics"),
        "ice_servers_avatar": ice.for_page("avatar", "diagnostics"),
        "stun_configured": bool(ice.config.stun_urls),
        "turn_configured": ice.config.pool("call") is not None,
        "relay_only": services.settings.ice_relay_only,
    }


@router.post("/api/diagnostics/avatar", response_model=DiagnosticAnswer)
async def diagnostics_avatar(body: DiagnosticOffer, services: ServicesDep,
                             request: Request) -> DiagnosticAnswer:
    """Answer an offer with a diagnostic avatar that speaks a test phrase and stops by itself."""
    _limited(services, request)
    stream = await services.diagnostics.open(body.sdp, body.language)
    return DiagnosticAnswer(session=stream.session, sdp=stream.sdp, seconds=stream.seconds)
