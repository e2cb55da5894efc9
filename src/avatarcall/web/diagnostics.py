"""The diagnostics API behind /diagnostics and ``avatarcall diagnose``: anyone may test their
browser and network against this server (ICE servers with fresh credentials, and a short avatar
stream answered over plain HTTP, WHEP-style)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
