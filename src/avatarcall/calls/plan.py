"""The avatar plan of a call: what the customer sees in each phase, as a pure function."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from avatarcall.calls.state import CallState, is_active


class DuringMode(StrEnum):
    OFF = "off"
    BESIDE = "beside"
    OVERLAY = "overlay"
    AS_AGENT = "as-agent"  # the customer sees the avatar instead of the agent, with the agent's voice


class AfterMode(StrEnum):
    CONCLUSION = "conclusion"
    OFF = "off"


class AvatarView(StrEnum):
    """What a page shows in the avatar slot."""

    STREAM = "stream"  # the server-rendered avatar, over the page's AvatarLink
    OVERLAY = "overlay"  # a looping animation drawn locally, no network
    OFF = "off"


class AvatarPlan(BaseModel, frozen=True):
    during: DuringMode = DuringMode.BESIDE
    after: AfterMode = AfterMode.CONCLUSION


def customer_view(state: CallState, plan: AvatarPlan) -> AvatarView:
    """The avatar the customer sees: before the agent (A), during the call, after it (B)."""
    if state is CallState.WAITING:
        return AvatarView.STREAM
    if is_active(state):
        return {
            DuringMode.OFF: AvatarView.OFF,
            DuringMode.BESIDE: AvatarView.STREAM,
            DuringMode.OVERLAY: AvatarView.OVERLAY,
            DuringMode.AS_AGENT: AvatarView.STREAM,
        }[plan.during]
    return AvatarView.STREAM if plan.after is AfterMode.CONCLUSION else AvatarView.OFF


def agent_view(state: CallState, plan: AvatarPlan, customer_present: bool = True) -> AvatarView:
    """The agent's preview mirrors what the customer sees: while the call is on, and the
    avatar's goodbye after it (the agent's page turns it off once the goodbye is over)."""
    if state is CallState.ENDED and customer_present:
        return customer_view(state, plan)
    if not is_active(state):
        return AvatarView.OFF
    return customer_view(state, plan)


def agent_voice(state: CallState, plan: AvatarPlan) -> bool:
    """Whether the avatar speaks with the agent's live voice now."""
    return is_active(state) and plan.during is DuringMode.AS_AGENT
