"""Calls: the state machine, the avatar plan, the records, the queue and the service that runs them."""

from avatarcall.calls.models import Call, Participant, Role
from avatarcall.calls.plan import (
    AfterMode,
    AvatarPlan,
    AvatarView,
    DuringMode,
    agent_view,
    agent_voice,
    customer_view,
)
from avatarcall.calls.state import CallEvent, CallState, apply, is_active

__all__ = [
    "AfterMode",
    "AvatarPlan",
    "AvatarView",
    "Call",
    "CallEvent",
    "CallState",
    "DuringMode",
    "Participant",
    "Role",
    "agent_view",
    "agent_voice",
    "apply",
    "customer_view",
    "is_active",
]
