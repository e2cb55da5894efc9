"""Builds the ASGI app and wires the services in its lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from avatarcall import __version__
from avatarcall.assistant import Assistant, load_faqs
from avatarcall.assistant.chat import ChatModel
from avatarcall.avatar.control import AvatarControl
from avatarcall.avatar.local import LocalAvatarControl
from avatarcall.avatar.pool import WorkerPool
from avatarcall.avatar.setup import (
    assistant,
    listens,
    overlay_loops,
    recognizer,
    session_config,
    synthesizer,
)
from avatarcall.avatar.stray import quiet_closed_connects
from avatarcall.avatar.supervisor import LocalWorkers
from avatarcall.cluster import (
    Node,
    RedisCallRepository,
    RedisPeerBus,
    RedisScheduler,
    RoutedAvatarControl,
)
from avatarcall.config import Settings
from avatarcall.errors import (
    AvatarCallError,
    BadApiKey,
    BadMessage,
    CallEnded,
    CallTaken,
    NotAllowed,
    QueueFull,
    RateLimited,
    TooManyAttempts,
    Unauthenticated,
    UnknownCall,
)
from avatarcall.flow.bus import LocalPeerBus
from avatarcall.flow.call_flow import CallFlow
from avatarcall.flow.diagnostics import DiagnosticSessions
from avatarcall.flow.ports import CallRepository, Scheduler
from avatarcall.flow.scheduler import AsyncioScheduler
from avatarcall.ice.peers import PeerNetworks
from avatarcall.ice.provider import IceProvider
from avatarcall.metrics import Metrics
from avatarcall.services import Services
from avatarcall.signaling.messages import AssistantInfo
from avatarcall.store import AgentStore, ApiKeyStore, CallStore, LocalCallRepository
from avatarcall.store.apikeys import WorkerKeyStore
from avatarcall.store.files import private_dir
from avatarcall.store.postgres import PostgresCallStore
from avatarcall.store.retention import keep_conversations
from avatarcall.tokens import TokenSigner, load_or_create_key
from avatarcall.web import api, diagnostics, loops, pages, workers, ws
from avatarcall.web.headers import SecurityHeaders
from avatarcall.web.hosts import AllowedHosts
from avatarcall.web.identity import AgentDirectory, Authenticator
from avatarcall.web.pages import DOCS_ASSETS, STATIC, SWAGGER_UI
from avatarcall.web.ratelimit import AttemptLimiter, SignInGuard

log = logging.getLogger(__name__)

STATUS = {Unauthenticated: 401, NotAllowed: 403, UnknownCall: 404, CallTaken: 409, CallEnded: 410,
          QueueFull: 503, RateLimited: 429}
DB_FILE = "avatarcall.sqlite3"
QUEUE_EVERY = 0.25  # seconds: the agents' queue is told at most four times a second
REDIS_CONNECTIONS = 100  # per node; a command waits (up to 10 s) for one when all are busy


def _avatars(settings: Settings, ice: IceProvider, metrics: Metrics,
             ) -> tuple[AvatarControl, WorkerPool | None, LocalWorkers | None]:
    """Avatars in worker processes (the default: local ones started here, remote ones dialling
    in), or in this process (``avatar_mode=in-process``)."""
    if settings.avatar_mode == "in-process":
        return LocalAvatarControl(
            synthesizer(settings), session_config(settings), ice.for_server, observer=metrics,
            max_sessions=settings.max_avatar_sessions,
            peers=PeerNetworks(settings.avatar_peer_networks),
            recognizer=recognizer(settings)), None, None
    pool = WorkerPool(ice.for_server, max_sessions=settings.max_avatar_sessions,
                      on_load=metrics.worker_load)
    metrics.watch_workers(pool.workers)
    count = settings.local_avatar_workers
    local = LocalWorkers(count, settings.local_url, insecure=settings.tls) if count else None
    return pool, pool, local


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    private_dir(settings.data_dir)
    quiet_closed_connects(asyncio.get_running_loop())
    store: CallStore | PostgresCallStore = (
        PostgresCallStore(settings.database_url.get_secret_value()) if settings.database_url
        else CallStore(settings.data_dir / DB_FILE))
    await store.open()
    agents = AgentDirectory(await asyncio.to_thread(AgentStore, settings.data_dir / DB_FILE))
    api_keys = await asyncio.to_thread(ApiKeyStore, settings.data_dir / DB_FILE)
    metrics = Metrics()
    ice = IceProvider.from_settings(settings)
    avatars, pool, local_workers = _avatars(settings, ice, metrics)
    name, feminine = assistant(settings)
    auth = Authenticator(TokenSigner(load_or_create_key(settings.data_dir / "signing.key")))
    readiness: dict[str, Callable[[], Awaitable[object]]] = {"database": store.ping}
    node: Node | None = None
    repo: CallRepository
    bus: LocalPeerBus | RedisPeerBus
    scheduler: Scheduler
    if settings.redis_url is not None:  # one of several nodes: the shared state is in Redis
        # A connection that Redis dropped (a restart) is made again on the next command. A burst
        # of commands (a hundred pages joining at once) waits for a free connection instead of
        # failing with "Too many connections", as redis-py's default pool does.
        connections = BlockingConnectionPool.from_url(
            settings.redis_url.get_secret_value(), max_connections=REDIS_CONNECTIONS, timeout=10,
            socket_timeout=5, health_check_interval=10,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 4),
            retry_on_error=[RedisConnectionError, RedisTimeoutError])
        redis = Redis(connection_pool=connections)
        node = Node(redis, settings.node_id)
        await node.start()
        repo, bus, scheduler = RedisCallRepository(redis, store), RedisPeerBus(node), \
            RedisScheduler(redis)
        routed = RoutedAvatarControl(node, avatars)
        if pool is not None:  # a worker back after its node died: its sessions are taken back
            pool.may_adopt = routed.may_adopt
        avatars = routed
        readiness["redis"] = redis.ping
        readiness["channel"] = node.listening
        log.info("node %s: calls, tabs and timers shared through Redis", node.id)
    else:
        repo, bus, scheduler = LocalCallRepository(store), LocalPeerBus(), AsyncioScheduler()
    chat_key = settings.chat_api_key.get_secret_value() if settings.chat_api_key else None
    chat = ChatModel(settings.chat_url, settings.chat_model, chat_key) if settings.chat_url else None
    calls = CallFlow(repo, bus, scheduler, avatars, ice, metrics,
                     waiting_grace=settings.waiting_grace_seconds,
                     after_call=settings.after_call_seconds,
                     relay_only=settings.ice_relay_only,
                     mint_resume=auth.resume_token, queue_every=QUEUE_EVERY,
                     assistant=AssistantInfo(name=name, feminine=feminine,
                                             listens=listens(settings)),
                     answers=Assistant(load_faqs(settings.faq_dir), chat,
                                       settings.chat_budget_seconds))
    calls.start()
    # What was made to start (modules, models, the FAQ, tables) lives as long as the process:
    # out of the collector's sight, so its full collections, which stop everything, look only
    # at what came since (with a thousand customers waiting: 90-130 ms pauses -> 35-50 ms).
    gc.collect()
    gc.freeze()
    restored = await calls.restore()
    if restored:
        log.info("restored %d unfinished calls from %s", restored, store.path)
    diag = DiagnosticSessions(calls.director.seats, avatars)
    app.state.services = Services(
        settings=settings, store=store, avatars=avatars, bus=bus, calls=calls, diagnostics=diag,
        auth=auth, agents=agents, metrics=metrics, api_keys=api_keys,
        login_guard=SignInGuard(settings.login_attempts, settings.login_address_attempts,
                                settings.login_alarm, settings.login_window),
        call_limiter=AttemptLimiter(settings.calls_per_address, settings.calls_window),
        diagnostics_limiter=AttemptLimiter(settings.diagnostics_per_address, 60.0),
        worker_keys=await asyncio.to_thread(WorkerKeyStore, settings.data_dir / DB_FILE),
        overlay_loops=overlay_loops(settings),
        worker_pool=pool, local_workers=local_workers, readiness=readiness)
    if local_workers is not None:
        local_workers.start()  # they dial in (and try again) once the server listens
    loops = asyncio.create_task(app.state.services.overlay_loops.prepare(), name="overlay-loops")
    retention = asyncio.create_task(keep_conversations(
        store, settings.conversation_retention_days), name="retention") \
        if settings.conversation_retention_days else None
    try:
        yield
    finally:
        loops.cancel()
        if retention is not None:
            retention.cancel()
        if local_workers is not None:
            await local_workers.stop()
        await diag.close()
        app.state.services.draining.set()
        await calls.close()
        await avatars.close()
        if chat is not None:
            await chat.close()
        if node is not None:
            await node.close()
            await node.redis.aclose(close_connection_pool=True)
        await store.close()
        agents.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="avatarcall", version=__version__, lifespan=_lifespan,
                  docs_url=None, redoc_url=None)  # pages.py serves them under a strict CSP
    app.state.settings = settings
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)
    app.add_middleware(AllowedHosts, names=settings.host_names)  # outermost: checked first

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

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """A request that does not fit its schema: the documented {code, message} body, with
        the first thing wrong in words (FastAPI's own body is ``{"detail": [...]}``)."""
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        return JSONResponse({"code": BadMessage.code, "retryable": False,
                             "message": f"{where}: {first.get('msg', 'invalid')}"},
                            status_code=422)

    app.include_router(api.router)
    app.include_router(diagnostics.router)
    app.include_router(ws.router)
    app.include_router(workers.router)
    app.include_router(pages.router)
    app.include_router(loops.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(SWAGGER_UI)), name="docs-assets")
    return app
