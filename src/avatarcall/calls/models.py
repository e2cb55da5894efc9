"""Call and Participant: the records a call is made of (immutable; a decision makes a new one)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from avatarcall.calls.plan import AfterMode, AvatarPlan, DuringMode
from avatarcall.calls.state import CallEvent, CallState, apply


def new_call_id() -> str:
    return uuid.uuid4().hex[:16]


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"

    @property
    def other(self) -> Role:
        return Role.AGENT if self is Role.CUSTOMER else Role.CUSTOMER


@dataclass(frozen=True)
class Participant:
    role: Role
    name: str
    joined_at: float


@dataclass(frozen=True)
class Call:
    id: str
    language: str
    created_at: float
    state: CallState = CallState.WAITING
    plan: AvatarPlan = field(default_factory=AvatarPlan)
    customer: Participant | None = None
    agent: Participant | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    topic: str | None = None  # what the call is about, as the customer or the integrator said
    # Bumped by every write of the call: a write made from an older version is refused
    # (compare-and-set), so two decisions taken at once never both land.
    version: int = 0

    @staticmethod
    def new(language: str, customer_name: str, now: float, call_id: str | None = None,
            topic: str | None = None) -> Call:
        return Call(id=call_id or new_call_id(), language=language, created_at=now,
                    customer=Participant(Role.CUSTOMER, customer_name, now), topic=topic)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON), as shared between nodes."""
        people = {p.role.value: {"name": p.name, "joined_at": p.joined_at}
                  for p in (self.customer, self.agent) if p is not None}
        return {"id": self.id, "language": self.language, "created_at": self.created_at,
                "state": self.state.value, "during": self.plan.during.value,
                "after": self.plan.after.value, "people": people, "ended_at": self.ended_at,
                "end_reason": self.end_reason, "topic": self.topic, "version": self.version}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Call:
        people = {Role(role): Participant(Role(role), p["name"], p["joined_at"])
                  for role, p in data["people"].items()}
        return Call(id=data["id"], language=data["language"], created_at=data["created_at"],
                    state=CallState(data["state"]),
                    plan=AvatarPlan(during=DuringMode(data["during"]),
                                    after=AfterMode(data["after"])),
                    customer=people.get(Role.CUSTOMER), agent=people.get(Role.AGENT),
                    ended_at=data["ended_at"], end_reason=data["end_reason"],
                    topic=data.get("topic"), version=data["version"])

    def moved(self, event: CallEvent, now: float, reason: str | None = None) -> Call:
        """The call after ``event`` (itself if the state does not change); raises
        :class:`~avatarcall.errors.IllegalTransition` for a move the state machine forbids."""
        state = apply(self.state, event)
        if state is self.state:
            return self
        ended = state is CallState.ENDED
        return replace(self, state=state,
                       ended_at=now if ended and self.ended_at is None else self.ended_at,
                       end_reason=reason if ended and reason else self.end_reason)
