"""Call and Participant: the records a call is made of."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from avatarcall.calls.plan import AvatarPlan
from avatarcall.calls.state import CallEvent, CallState, apply


def new_call_id() -> str:
    return uuid.uuid4().hex[:16]


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"


@dataclass
class Participant:
    role: Role
    name: str
    joined_at: float = field(default_factory=time.time)


@dataclass
class Call:
    id: str
    language: str
    created_at: float = field(default_factory=time.time)
    state: CallState = CallState.WAITING
    plan: AvatarPlan = field(default_factory=AvatarPlan)
    customer: Participant | None = None
    agent: Participant | None = None
    ended_at: float | None = None
    end_reason: str | None = None

    @staticmethod
    def new(language: str, customer_name: str, call_id: str | None = None) -> Call:
        return Call(
            id=call_id or new_call_id(),
            language=language,
            customer=Participant(Role.CUSTOMER, customer_name),
        )

    def take(self, event: CallEvent) -> bool:
        """Apply ``event``; return True if the state changed."""
        new_state = apply(self.state, event)
        changed = new_state is not self.state
        self.state = new_state
        if new_state is CallState.ENDED and self.ended_at is None:
            self.ended_at = time.time()
        return changed
