"""REST API under /api, plus /healthz. Errors come back as {code, message, retryable}."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Cookie, Query, Request, Response
from pydantic import BaseModel, Field

from avatarcall import report
from avatarcall.avatar.phrases import pick_language
from avatarcall.calls.models import Role
from avatarcall.errors import (
    AvatarUnavailable,
    BadMessage,
    NotAllowed,
    Unauthenticated,
    UnknownCall,
)
from avatarcall.web.identity import AGENT_COOKIE, AGENT_SESSION_TTL

router = APIRouter()


class NewCall(BaseModel):
    language: str | None = Field(default=None, max_length=35, description="the browser's language, e.g. fr-FR")
    name: str = Field(default="Customer", min_length=1, max_length=80)


class CallTicket(BaseModel):
    call_id: str
    token: str
    language: str


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
    role: Literal["customer", "agent"]


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, object]:
    services = request.app.state.services
    return {"ok": True, "calls": len(services.calls.calls),
            "avatar_sessions": len(services.avatars.sessions())}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus exposition."""
    body = request.app.state.services.metrics.exposition()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.post("/api/calls", response_model=CallTicket)
async def start_call(body: NewCall, request: Request) -> CallTicket:
    """A customer starts a call: it joins the queue and gets a token for its signaling socket."""
    services = request.app.state.services
    language = pick_language(services.settings.language, body.language)
    call = await services.calls.create_call(language, body.name)
    return CallTicket(call_id=call.id, token=services.auth.customer_token(call.id, body.name),
                      language=language)


@router.post("/api/login", response_model=AgentInfo)
async def login(body: Login, request: Request, response: Response) -> AgentInfo:
    services = request.app.state.services
    if not services.agents.check(body.name, body.password):
        raise Unauthenticated("Wrong name or password.", code="bad_login")
    admin = services.agents.is_admin(body.name)
    response.set_cookie(AGENT_COOKIE, services.auth.agent_cookie(body.name, admin), max_age=AGENT_SESSION_TTL,
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return AgentInfo(name=body.name, admin=admin)


@router.post("/api/logout")
async def logout(response: Response) -> dict[str, bool]:
    response.delete_cookie(AGENT_COOKIE)
    return {"ok": True}


@router.get("/api/me", response_model=AgentInfo)
async def me(request: Request, avatarcall_agent: str | None = Cookie(default=None)) -> AgentInfo:
    who = request.app.state.services.auth.agent(avatarcall_agent)
    return AgentInfo(name=who.name, admin=who.admin)


@router.get("/api/calls/{call_id}")
async def call_record(call_id: str, request: Request,
                      avatarcall_agent: str | None = Cookie(default=None)) -> dict[str, object]:
    """A call as stored, with its timeline of events (agents only)."""
    services = request.app.state.services
    services.auth.agent(avatarcall_agent)
    call = services.calls.calls.get(call_id) or await services.store.load_call(call_id)
    if call is None:
        raise UnknownCall(f"There is no call {call_id}.")
    events = await services.store.events(call_id)
    return {
        "call": services.calls.snapshot(call, Role.AGENT).model_dump(mode="json"),
        "events": [{"at": e.at, "kind": e.kind, "detail": e.detail} for e in events],
    }


@router.post("/api/debug/calls/{call_id}/avatar/fault")
async def inject_fault(call_id: str, body: Fault, request: Request) -> dict[str, object]:
    """Fault drills: crash or stop a call's avatar session (only with AVATARCALL_FAULT_INJECTION)."""
    services = request.app.state.services
    if not services.settings.fault_injection:
        raise NotAllowed("Fault injection is off (AVATARCALL_FAULT_INJECTION).")
    services.calls.get(call_id)
    session = services.avatars.get(call_id)
    if session is None:
        raise AvatarUnavailable("This call has no running avatar.")
    if body.kind == "crash":
        session.inject_fault("crash")
    else:
        await session.stop_as_failed()
    return {"ok": True, "epoch": session.epoch}


@router.post("/api/debug/calls/{call_id}/signaling/drop")
async def drop_signaling(call_id: str, body: Drop, request: Request) -> dict[str, object]:
    """Fault drills: close a participant's signaling WebSocket from the server side."""
    services = request.app.state.services
    if not services.settings.fault_injection:
        raise NotAllowed("Fault injection is off (AVATARCALL_FAULT_INJECTION).")
    services.calls.get(call_id)
    return {"ok": services.calls.drop(call_id, Role(body.role))}


@router.get("/api/admin/report")
async def admin_report(request: Request, since: float | None = None, until: float | None = None,
                       buckets: int = Query(default=24, ge=1, le=200),
                       avatarcall_agent: str | None = Cookie(default=None)) -> dict[str, object]:
    """The report's two tables and their series over time, from stored events (admins)."""
    services = request.app.state.services
    services.auth.admin(avatarcall_agent)
    until = until or time.time()
    since = since if since is not None else until - 24 * 3600
    if since >= until:
        raise BadMessage("'since' must be before 'until'.")
    events = await services.store.events_between(since, until, report.REPORT_KINDS)
    built = report.build(events, since, until, buckets)
    calls = await services.store.calls_between(since, until)
    return {
        **asdict(built),
        "calls": [{"call_id": c.id, "created_at": c.created_at, "state": c.state.value,
                   "agent": c.agent.name if c.agent else None, "end_reason": c.end_reason}
                  for c in reversed(calls)],
    }
