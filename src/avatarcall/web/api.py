"""REST API under /api, plus /healthz. Errors come back as {code, message, retryable}."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Cookie, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, Field

from avatarcall import report
from avatarcall.avatar.phrases import pick_language
from avatarcall.calls.models import Role, new_call_id
from avatarcall.calls.state import CallState
from avatarcall.errors import (
    BadApiKey,
    BadMessage,
    CallEnded,
    NotAllowed,
    QueueFull,
    TooManyAttempts,
    TooManyCalls,
    Unauthenticated,
    UnknownCall,
)
from avatarcall.flow import projection
from avatarcall.web import deps
from avatarcall.web.identity import (
    AGENT_COOKIE,
    AGENT_SESSION_TTL,
    CUSTOMER_TOKEN_TTL,
    Identity,
    require_admin,
)

log = logging.getLogger(__name__)

router = APIRouter()

api_key = HTTPBearer(auto_error=False, scheme_name="api_key",
                     description="An integrator's API key (`avatarcall apikey add NAME`).")


class Problem(BaseModel):
    """Every error: a stable code, a readable message, and whether trying again can help."""

    code: str
    message: str
    retryable: bool = False


async def signed_in_agent(request: Request, cookie: str | None) -> Identity:
    """The agent whose session cookie this is, as the agents table has them now."""
    services = deps.services(request)
    return await services.agents.current(services.auth.agent(cookie))


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem} for status in statuses}


def _printable(text: str) -> str:
    """A name a person typed: printable characters only (no line breaks, tabs or control
    characters: it goes into pages and logs), no surrounding spaces."""
    if not text.isprintable() or text != text.strip():
        raise ValueError("a name is printable characters with no surrounding spaces")
    return text


PersonName = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_printable)]
Topic = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_printable)]


class NewCall(BaseModel):
    language: str | None = Field(default=None, max_length=35, description="the browser's language, e.g. fr-FR")
    name: PersonName = "Customer"
    topic: Topic | None = Field(default=None, description="what the call is about, for the agents")


class CallTicket(BaseModel):
    call_id: str
    token: str
    language: str


class Join(BaseModel):
    token: str = Field(min_length=1, max_length=2000, description="the token of a customer link")


class InvitedCall(BaseModel):
    customer: PersonName = Field(description="the customer's name, as agents see it")
    topic: Topic | None = Field(default=None, description="what the call is about, as agents see it")
    language: str | None = Field(default=None, max_length=35, description="e.g. fr-FR")


class Invitation(BaseModel):
    call_id: str
    token: str = Field(description="the customer's token for this call only")
    url: str = Field(description="the customer page link that carries the token")
    language: str
    expires_in: int = Field(description="seconds the link stays valid")


class Login(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class AgentInfo(BaseModel):
    name: str
    role: Literal["agent"] = "agent"
    admin: bool = False


class Fault(BaseModel):
    kind: Literal["crash", "stop"]


class Drop(BaseModel):
    role: Role


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, object]:
    """Alive, and what this node runs; it never asks Redis or the database (``/readyz`` does)."""
    services = deps.services(request)
    load = services.avatars.load()
    active, waiting = services.calls.counts  # as last counted: /healthz needs nothing else
    health: dict[str, object] = {"ok": True, "calls": active + waiting,
                                 "avatar_sessions": load.sessions,
                                 "avatar_capacity": load.capacity,
                                 "avatar_mode": services.settings.avatar_mode,
                                 "tabs": services.bus.tab_count()}
    if services.worker_pool is not None:
        workers = services.worker_pool.workers()
        health["workers"] = [asdict(w) for w in workers]
        local = services.local_workers
        pids = local.pids() if local is not None else set()
        # Every local worker this server started has dialled in (remote ones come and go).
        health["workers_ready"] = len(pids & {w.pid for w in workers if w.pid}) >= (
            local.count if local is not None else 0)
    return health


@router.get("/readyz")
async def readyz(request: Request, response: Response) -> dict[str, object]:
    """Whether this node can serve (for load balancers): its database, and Redis when several
    nodes share one. ``/healthz`` says whether it is alive, and never depends on either."""
    services = deps.services(request)
    checks: dict[str, str] = {}
    for name, ping in services.readiness.items():
        try:
            await asyncio.wait_for(ping(), 2.0)
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 (any failure means: not ready)
            checks[name] = f"{type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values()) and not services.draining.is_set()
    if services.draining.is_set():
        checks["node"] = "draining"
    response.status_code = 200 if ready else 503
    return {"ready": ready, **checks}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus exposition."""
    body = deps.services(request).metrics.exposition()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.post("/api/calls", response_model=CallTicket, responses=_errors(400, 429, 503))
async def start_call(body: NewCall, request: Request) -> CallTicket:
    """A customer starts a call: it joins the queue and gets a token for its signaling socket.
    Calls are limited per client address (``too_many_calls``) and by the number of customers
    waiting (``queue_full``); both say when to try again (Retry-After)."""
    services = deps.services(request)
    settings = services.settings
    address = f"address:{request.client.host if request.client else '-'}"
    wait = services.call_limiter.retry_after(address)
    if wait is not None:
        log.warning("call refused, too many from %s", address)
        raise TooManyCalls(f"Too many calls from here. Try again in {wait} s.", retry_after=wait)
    if await services.calls.waiting_count() >= settings.max_waiting_calls:
        log.warning("call refused, %d customers already waiting", settings.max_waiting_calls)
        raise QueueFull("Every place in the queue is taken. Try again in a minute.", retry_after=60)
    services.call_limiter.record(address)
    language = pick_language(settings.language, body.language)
    call = await services.calls.create_call(language, body.name, topic=body.topic)
    return CallTicket(call_id=call.id, token=services.auth.customer_token(call.id, body.name),
                      language=language)


@router.post("/api/calls/join", response_model=CallTicket, responses=_errors(401, 404, 410))
async def join_call(body: Join, request: Request) -> CallTicket:
    """A customer opens a link (``/?call=TOKEN``): the call its token names. An invitation's call
    (integration API) is made on the link's first use; an ended call is not opened again."""
    services = deps.services(request)
    who = services.auth.customer(body.token)
    call_id = who.call_id or ""
    if who.language is not None:
        await services.calls.open_invite(call_id, who.name, who.language, who.topic)
    call = await services.calls.get(call_id)
    if call.state is CallState.ENDED:
        raise CallEnded("This call has ended.")
    return CallTicket(call_id=call.id, token=body.token, language=call.language)


@router.post("/api/integrations/calls", response_model=Invitation, responses=_errors(401))
async def invite_customer(body: InvitedCall, request: Request,
                          credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                 Depends(api_key)]) -> Invitation:
    """An integrator's backend (``Authorization: Bearer <api key>``) makes a call for a named
    customer and gets the link to give them. The call reaches the agents' queue when the customer
    opens the link."""
    services = deps.services(request)
    if credentials is None:
        raise BadApiKey("Send an API key: 'Authorization: Bearer <key>'.", code="unauthenticated")
    key_name = await asyncio.to_thread(services.api_keys.check, credentials.credentials)
    if key_name is None:
        raise BadApiKey("This API key is not valid (unknown or revoked).")
    language = pick_language(services.settings.language, body.language)
    call_id = new_call_id()
    token = services.auth.customer_token(call_id, body.customer, language, body.topic)
    base = (services.settings.public_base_url or str(request.base_url)).rstrip("/")
    log.info("invitation made call=%s key=%s", call_id, key_name)
    return Invitation(call_id=call_id, token=token, url=f"{base}/?call={token}", language=language,
                      expires_in=CUSTOMER_TOKEN_TTL)


@router.post("/api/login", response_model=AgentInfo, responses=_errors(401, 429))
async def login(body: Login, request: Request, response: Response) -> AgentInfo:
    """An agent signs in: a session cookie (HttpOnly, SameSite=Strict, Secure under TLS). Failed
    attempts slow the guesser down (``too_many_attempts``, Retry-After) without locking the agent
    out from elsewhere (docs/security.md)."""
    services = deps.services(request)
    guard = services.login_guard
    address = request.client.host if request.client else "-"
    wait = guard.retry_after(body.name, address)
    if wait is not None:
        log.warning("sign-in refused, too many failures name=%r address=%s", body.name[:80], address)
        raise TooManyAttempts(f"Too many failed sign-ins. Try again in {wait} s.", retry_after=wait)
    guard.attempt(body.name, address)
    agent = await services.agents.check(body.name, body.password)
    if agent is None:
        log.info("sign-in failed name=%r address=%s", body.name[:80], address)
        raise Unauthenticated("Wrong name or password.", code="bad_login")
    guard.succeeded(body.name, address)
    response.set_cookie(AGENT_COOKIE, services.auth.agent_cookie(agent.name, agent.admin),
                        max_age=AGENT_SESSION_TTL, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return AgentInfo(name=agent.name, admin=agent.admin)


@router.post("/api/logout")
async def logout(request: Request, response: Response,
                 avatarcall_agent: str | None = Cookie(default=None)) -> dict[str, bool]:
    """Sign out: this session ends on the server too (a copy of the cookie opens nothing)."""
    services = deps.services(request)
    try:
        who = services.auth.agent(avatarcall_agent)
    except Unauthenticated:
        who = None  # signing out without a (valid) session is not an error
    if who is not None:
        await services.agents.revoke(who)
    response.delete_cookie(AGENT_COOKIE, httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return {"ok": True}


@router.get("/api/me", response_model=AgentInfo)
async def me(request: Request, avatarcall_agent: str | None = Cookie(default=None)) -> AgentInfo:
    who = await signed_in_agent(request, avatarcall_agent)
    return AgentInfo(name=who.name, admin=who.admin)


@router.get("/api/calls/{call_id}")
async def call_record(call_id: str, request: Request,
                      avatarcall_agent: str | None = Cookie(default=None)) -> dict[str, object]:
    """A call as stored, with its timeline of events (agents only)."""
    services = deps.services(request)
    await signed_in_agent(request, avatarcall_agent)
    call = await services.calls.repo.record(call_id)
    if call is None:
        raise UnknownCall(f"There is no call {call_id}.")
    events = await services.store.events(call_id)
    return {
        "call": projection.snapshot(call, Role.AGENT).model_dump(mode="json"),
        "events": [{"at": e.at, "kind": e.kind, "detail": e.detail} for e in events],
    }


@router.post("/api/debug/calls/{call_id}/avatar/fault")
async def inject_fault(call_id: str, body: Fault, request: Request) -> dict[str, object]:
    """Fault drills: crash or stop a call's avatar session (only with AVATARCALL_FAULT_INJECTION)."""
    services = deps.services(request)
    if not services.settings.fault_injection:
        raise NotAllowed("Fault injection is off (AVATARCALL_FAULT_INJECTION).")
    await services.calls.get(call_id)
    epoch = await services.calls.director.fault(call_id, body.kind)
    return {"ok": True, "epoch": epoch}


@router.post("/api/debug/calls/{call_id}/signaling/drop")
async def drop_signaling(call_id: str, body: Drop, request: Request) -> dict[str, object]:
    """Fault drills: close a participant's signaling WebSocket from the server side."""
    services = deps.services(request)
    if not services.settings.fault_injection:
        raise NotAllowed("Fault injection is off (AVATARCALL_FAULT_INJECTION).")
    return {"ok": await services.calls.drop(call_id, body.role)}


@router.get("/api/admin/report")
async def admin_report(request: Request,
                       since: float | None = Query(default=None, allow_inf_nan=False),
                       until: float | None = Query(default=None, allow_inf_nan=False),
                       buckets: int = Query(default=24, ge=1, le=200),
                       avatarcall_agent: str | None = Cookie(default=None)) -> dict[str, object]:
    """The report's two tables and their series over time, from stored events (admins)."""
    services = deps.services(request)
    require_admin(await signed_in_agent(request, avatarcall_agent))
    until = until or time.time()
    since = since if since is not None else until - 24 * 3600
    if since >= until:
        raise BadMessage("'since' must be before 'until'.")
    events = await services.store.events_between(since, until, report.REPORT_KINDS)
    built = report.build(events, since, until, buckets)
    calls = await services.store.calls_between(since, until)
    # The customers' ratings (1-5), the last one given for each call; rated up to now.
    stars = {e.call_id: int(e.detail["stars"])
             for e in await services.store.events_between(since, time.time(), ("rating",))}
    rated = [stars[c.id] for c in calls if c.id in stars]
    return {
        **asdict(built),
        "calls": [{**projection.snapshot(c, Role.AGENT).model_dump(mode="json", exclude_none=True),
                   "rating": stars.get(c.id)}
                  for c in reversed(calls)],
        "ratings": {"count": len(rated),
                    "average": round(sum(rated) / len(rated), 2) if rated else None},
    }
