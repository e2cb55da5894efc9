"""Who is on the other end of a request: an agent (session cookie) or a customer (call token)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from avatarcall.calls.models import Role
from avatarcall.errors import NotAllowed, Unauthenticated
from avatarcall.tokens import TokenSigner

AGENT_COOKIE = "avatarcall_agent"
AGENT_SESSION_TTL = 12 * 3600
CUSTOMER_TOKEN_TTL = 4 * 3600


@dataclass(frozen=True)
class Identity:
    role: Role
    name: str
    call_id: str | None = None
    admin: bool = False


class AgentDirectory:
    """The agents who may log in. The embedded default has one demo agent."""

    def __init__(self, demo: tuple[str, str]) -> None:
        self._demo = demo

    def is_admin(self, name: str) -> bool:
        """The demo agent of the embedded default may see /admin."""
        return hmac.compare_digest(name.encode(), self._demo[0].encode())

    def check(self, name: str, password: str) -> bool:
        demo_name, demo_password = self._demo
        ok_name = hmac.compare_digest(name.encode(), demo_name.encode())
        ok_password = hmac.compare_digest(password.encode(), demo_password.encode())
        return ok_name and ok_password


class Authenticator:
    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    def agent_cookie(self, name: str, admin: bool = False) -> str:
        return self._signer.sign({"kind": "agent", "name": name, "admin": admin}, AGENT_SESSION_TTL)

    def customer_token(self, call_id: str, name: str) -> str:
        return self._signer.sign({"kind": "customer", "call": call_id, "name": name},
                                 CUSTOMER_TOKEN_TTL)

    def identify(self, cookie: str | None, token: str | None) -> Identity:
        if token:
            payload = self._signer.verify(token, "customer")
            return Identity(Role.CUSTOMER, str(payload["name"]), str(payload["call"]))
        if cookie:
            payload = self._signer.verify(cookie, "agent")
            return Identity(Role.AGENT, str(payload["name"]))
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
        return Identity(Role.AGENT, str(payload["name"]), admin=bool(payload.get("admin")))

    def admin(self, cookie: str | None) -> Identity:
        who = self.agent(cookie)
        if not who.admin:
            raise NotAllowed("This page is for administrators.")
        return who
