"""Who is on the other end of a request: an agent (session cookie) or a customer (call token)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from avatarcall.calls.models import Role
from avatarcall.errors import NotAllowed, SessionEnded, Unauthenticated
from avatarcall.store.agents import Agent, AgentStore
from avatarcall.tokens import TokenSigner

AGENT_COOKIE = "avatarcall_agent"
AGENT_SESSION_TTL = 12 * 3600
CUSTOMER_TOKEN_TTL = 4 * 3600

T = TypeVar("T")


@dataclass(frozen=True)
class Identity:
    role: Role
    name: str
    call_id: str | None = None
    admin: bool = False
    language: str | None = None  # set for a link minted by the integration API (the call is made on first use)
    topic: str | None = None  # what the integrator said the call is about (such a link only)
    signed_in_at: float = 0.0  # an agent's session: when they signed in
    session: str | None = None  # an agent's session: its id (signing out revokes it)


class AgentDirectory:
    """The agents who may sign in (the ``agents`` table). Password checks are argon2 work: they
    run on two threads of their own, never on the event loop.

    A session cookie is only as good as its agent's row: :meth:`current` checks it on every
    request and every few seconds on an open socket (rows are read at most every
    ``CACHE_SECONDS``, so ``avatarcall agent remove`` from another process takes effect then).
    """

    CACHE_SECONDS = 2.0

    def __init__(self, store: AgentStore, threads: int = 2) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._rows: dict[str, tuple[float, Agent | None]] = {}
        self._sessions: dict[str, tuple[float, bool]] = {}  # session id -> (read at, revoked)
        self._revoked_here: set[str] = set()

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def check(self, name: str, password: str) -> Agent | None:
        """The agent whose name and password these are, or None."""
        agent = await self._run(lambda: self.store.verify(name, password))
        if agent is not None:
            self._rows.pop(name, None)  # a session starts from the row as it is now
        return agent

    async def current(self, who: Identity) -> Identity:
        """``who`` as the agents table has it now (its role included); raise
        :class:`SessionEnded` for a removed agent or a session older than their last change."""
        if who.role is not Role.AGENT:
            return who
        now = time.monotonic()
        cached = self._rows.get(who.name)
        if cached is None or now - cached[0] > self.CACHE_SECONDS:
            agent = await asyncio.to_thread(self.store.get, who.name)
            if len(self._rows) > 10_000:
                self._rows.clear()
            self._rows[who.name] = (now, agent)
        else:
            agent = cached[1]
        if agent is None:
            raise SessionEnded("This agent account no longer exists.")
        if who.signed_in_at < agent.sessions_after:
            raise SessionEnded("This session has ended (signed out everywhere, or the account "
                               "changed). Sign in again.")
        if who.session is not None and await self._revoked(who.session, now):
            raise SessionEnded("This session was signed out. Sign in again.")
        return Identity(Role.AGENT, agent.name, who.call_id, admin=agent.admin,
                        signed_in_at=who.signed_in_at, session=who.session)

    async def _revoked(self, session: str, now: float) -> bool:
        if session in self._revoked_here:
            return True
        cached = self._sessions.get(session)
        if cached is None or now - cached[0] > self.CACHE_SECONDS:
            revoked = await asyncio.to_thread(self.store.is_revoked, session)
            if len(self._sessions) > 10_000:
                self._sessions.clear()
            self._sessions[session] = cached = (now, revoked)
        return cached[1]

    async def revoke(self, who: Identity) -> None:
        """End this one session (sign-out), here at once and in other processes within
        ``CACHE_SECONDS``."""
        if who.session is None:
            return
        if len(self._revoked_here) > 100_000:
            self._revoked_here.clear()  # the database still has them
        self._revoked_here.add(who.session)
        expires = who.signed_in_at + AGENT_SESSION_TTL
        await self._run(lambda: self.store.revoke_session(who.session or "", expires))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class Authenticator:
    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    def agent_cookie(self, name: str, admin: bool = False) -> str:
        payload = {"kind": "agent", "name": name, "admin": admin, "iat": time.time(),
                   "sid": secrets.token_urlsafe(12)}
        return self._signer.sign(payload, AGENT_SESSION_TTL)

    def customer_token(self, call_id: str, name: str, language: str | None = None,
                       topic: str | None = None) -> str:
        """A customer's link to one call. With ``language`` it is an invitation (integration API):
        the call is made when the link is first used."""
        payload = {"kind": "customer", "call": call_id, "name": name}
        if language is not None:
            payload["lang"] = language
        if topic is not None:
            payload["topic"] = topic
        return self._signer.sign(payload, CUSTOMER_TOKEN_TTL)

    def customer(self, token: str) -> Identity:
        payload = self._signer.verify(token, "customer")
        language, topic = payload.get("lang"), payload.get("topic")
        return Identity(Role.CUSTOMER, str(payload["name"]), str(payload["call"]),
                        language=str(language) if language is not None else None,
                        topic=str(topic) if topic is not None else None)

    def identify(self, cookie: str | None, token: str | None) -> Identity:
        if token:
            return self.customer(token)
        if cookie:
            return self.agent(cookie)
        raise Unauthenticated("Sign in first, or open the link you were given.")

    def resume_token(self, call_id: str, name: str) -> str:
        return self._signer.sign({"kind": "resume", "call": call_id, "name": name}, CUSTOMER_TOKEN_TTL)

    def resume(self, token: str, name: str) -> str | None:
        """The call an agent's resume token names, if it is this agent's and still valid."""
        try:
            payload = self._signer.verify(token, "resume")
        except Unauthenticated:
            return None  # a stale resume token is no reason to refuse the agent: it just lands in the lobby
        return str(payload["call"]) if payload.get("name") == name else None

    def agent(self, cookie: str | None) -> Identity:
        if not cookie:
            raise Unauthenticated("Sign in first.")
        payload = self._signer.verify(cookie, "agent")
        session = payload.get("sid")
        return Identity(Role.AGENT, str(payload["name"]), admin=bool(payload.get("admin")),
                        signed_in_at=float(payload.get("iat", 0.0)),
                        session=str(session) if session is not None else None)


def require_admin(who: Identity) -> Identity:
    if not who.admin:
        raise NotAllowed("This page is for administrators.")
    return who
