"""Builds the ASGI app and wires the services in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from avatarcall import __version__
from avatarcall.avatar import AvatarService, EspeakSynthesizer, SessionConfig, SpeechSynthesizer
from avatarcall.calls.service import CallService
from avatarcall.config import Settings
from avatarcall.errors import (
    AvatarCallError,
    BadApiKey,
    CallEnded,
    CallTaken,
    NotAllowed,
    QueueFull,
    RateLimited,
    TooManyAttempts,
    Unauthenticated,
    UnknownCall,
)
from avatarcall.ice.provider import IceProvider
from avatarcall.metrics import Metrics
from avatarcall.store import AgentStore, ApiKeyStore, CallStore
from avatarcall.store.files import private_dir
from avatarcall.tokens import TokenSigner, load_or_create_key
from avatarcall.web import api, diagnostics, pages, ws
from avatarcall.web.headers import SecurityHeaders
from avatarcall.web.identity import AgentDirectory, Authenticator
from avatarcall.web.pages import STATIC
from avatarcall.web.ratelimit import AttemptLimiter

log = logging.getLogger(__name__)

STATUS = {Unauthenticated: 401, NotAllowed: 403, UnknownCall: 404, CallTaken: 409, CallEnded: 410,
          QueueFull: 503, RateLimited: 429}
DB_FILE = "avatarcall.sqlite3"


@dataclass
class Services:
    settings: Settings
    store: CallStore
    avatars: AvatarService
    calls: CallService
    auth: Authenticator
    agents: AgentDirectory
    metrics: Metrics
    api_keys: ApiKeyStore
    login_limiter: AttemptLimiter
    call_limiter: AttemptLimiter  # calls started per client address (the anonymous customer page)


def _synthesizer(settings: Settings) -> SpeechSynthesizer:
    """espeak-ng by default; Piper when a voice model is configured."""
    if settings.piper_model is not None:
        from avatarcall.avatar.speech import PiperSynthesizer

        return PiperSynthesizer(settings.piper_model)
    return EspeakSynthesizer()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    private_dir(settings.data_dir)
    store = CallStore(settings.data_dir / DB_FILE)
    await store.open()
    agents = AgentDirectory(await asyncio.to_thread(AgentStore, settings.data_dir / DB_FILE))
    demo_name, demo_password = settings.demo_credentials
    await agents.ensure(demo_name, demo_password, admin=True)
    api_keys = await asyncio.to_thread(ApiKeyStore, settings.data_dir / DB_FILE)
    calls: CallService | None = None
    metrics = Metrics()
    ice = IceProvider.from_settings(settings)
    avatars = AvatarService(
        _synthesizer(settings),
        SessionConfig(size=settings.avatar_size, fps=settings.avatar_fps,
                      bitrate=settings.avatar_bitrate,
                      keyframe_interval=settings.avatar_keyframe_interval,
                      character=settings.avatar_character,
                      palette=tuple(settings.avatar_palette.items()),
                      image_dir=settings.avatar_image_dir),
        ice.for_server,
        on_event=lambda event: calls.on_avatar_event(event) if calls else None,
        observer=metrics,
        max_sessions=settings.max_avatar_sessions,
    )
    auth = Authenticator(TokenSigner(load_or_create_key(settings.data_dir / "signing.key")))
    calls = CallService(store, avatars, waiting_grace=settings.waiting_grace_seconds,
                        after_call=settings.after_call_seconds,
                        ice=ice,
                        relay_only=settings.ice_relay_only,
                        mint_resume=auth.resume_token, metrics=metrics)
    restored = await calls.restore()
    if restored:
        log.info("restored %d unfinished calls from %s", restored, store.path)
    app.state.services = Services(settings, store, avatars, calls, auth, agents, metrics, api_keys,
                                  AttemptLimiter(settings.login_attempts, settings.login_window),
                                  AttemptLimiter(settings.calls_per_address, settings.calls_window))
    try:
        yield
    finally:
        if getattr(app.state, "diagnostics", None) is not None:
            await app.state.diagnostics.close()
        await calls.close()
        await avatars.close()
        await store.close()
        agents.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="avatarcall", version=__version__, lifespan=_lifespan,
                  docs_url=None, redoc_url=None)  # pages.py serves them under a strict CSP
    app.state.settings = settings
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)

    @app.exception_handler(AvatarCallError)
    async def _error(_: Request, exc: AvatarCallError) -> JSONResponse:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {}
        if isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, BadApiKey):
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse({"code": exc.code, "message": exc.message, "retryable": exc.retryable},
                            status_code=status, headers=headers)

    app.include_router(api.router)
    app.include_router(diagnostics.router)
    app.include_router(ws.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
