"""The call domain: records, the state machine, the avatar plan, the decisions and the timeline's
entries. Pure: no asyncio, no I/O, and nothing of avatar/, signaling/, store/ or web/."""

from avatarcall.calls.decisions import (
    AgentJoined,
    Change,
    Decision,
    PlanChanged,
    Rejoined,
    StateChanged,
)
from avatarcall.calls.models import Call, Participant, Role, new_call_id
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
    "AgentJoined",
    "AvatarPlan",
    "AvatarView",
    "Call",
    "CallEvent",
    "CallState",
    "Change",
    "Decision",
    "DuringMode",
    "Participant",
    "PlanChanged",
    "Rejoined",
    "Role",
    "StateChanged",
    "agent_view",
    "agent_voice",
    "apply",
    "customer_view",
    "is_active",
    "new_call_id",
]
