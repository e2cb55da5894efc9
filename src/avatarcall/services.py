"""The server's services, made once when it starts (``app.py``) and handed to the routes typed
(``web/deps.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from avatarcall.avatar.control import AvatarControl
from avatarcall.avatar.loops import OverlayLoops
from avatarcall.avatar.pool import WorkerPool
from avatarcall.avatar.supervisor import LocalWorkers
from avatarcall.cluster.bus import RedisPeerBus
from avatarcall.config import Settings
from avatarcall.flow.bus import LocalPeerBus
from avatarcall.flow.call_flow import CallFlow
from avatarcall.flow.diagnostics import DiagnosticSessions
from avatarcall.metrics import Metrics
from avatarcall.store import ApiKeyStore, CallStore
from avatarcall.store.apikeys import WorkerKeyStore
from avatarcall.store.postgres import PostgresCallStore
from avatarcall.web.identity import AgentDirectory, Authenticator
from avatarcall.web.ratelimit import AttemptLimiter, SignInGuard


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: CallStore | PostgresCallStore
    avatars: AvatarControl
    bus: LocalPeerBus | RedisPeerBus
    calls: CallFlow
    diagnostics: DiagnosticSessions
    auth: Authenticator
    agents: AgentDirectory
    metrics: Metrics
    api_keys: ApiKeyStore
    login_guard: SignInGuard
    call_limiter: AttemptLimiter  # calls started per client address (the anonymous customer page)
    diagnostics_limiter: AttemptLimiter  # diagnostics requests per client address
    worker_keys: WorkerKeyStore
    overlay_loops: OverlayLoops
    readiness: dict[str, Callable[[], Awaitable[object]]] = field(default_factory=dict)
    draining: asyncio.Event = field(default_factory=asyncio.Event)  # SIGTERM: no new sockets
    worker_pool: WorkerPool | None = None  # None: avatars render in this process
    local_workers: LocalWorkers | None = None
