"""What the customer and the agent see in the avatar slot, for every state and plan."""

from __future__ import annotations

import itertools

import pytest

from avatarcall.calls import (
    AfterMode,
    AvatarPlan,
    AvatarView,
    CallState,
    DuringMode,
    agent_view,
    agent_voice,
    customer_view,
)

S, V = CallState, AvatarView
ACTIVE = [S.CONNECTING, S.CONNECTED, S.RECONNECTING]
PLANS = [AvatarPlan(during=d, after=a) for d, a in itertools.product(DuringMode, AfterMode)]
DURING = {DuringMode.OFF: V.OFF, DuringMode.BESIDE: V.STREAM, DuringMode.OVERLAY: V.OVERLAY,
          DuringMode.AS_AGENT: V.STREAM}
AFTER = {AfterMode.CONCLUSION: V.STREAM, AfterMode.OFF: V.OFF}


def test_default_plan() -> None:
    assert AvatarPlan() == AvatarPlan(during=DuringMode.BESIDE, after=AfterMode.CONCLUSION)


@pytest.mark.parametrize("plan", PLANS)
def test_waiting_customer_sees_the_stream_and_the_agent_nothing(plan: AvatarPlan) -> None:
    assert customer_view(S.WAITING, plan) is V.STREAM
    assert agent_view(S.WAITING, plan) is V.OFF


@pytest.mark.parametrize(("state", "plan"), list(itertools.product(ACTIVE, PLANS)))
def test_during_the_call_both_see_the_during_mode(state: CallState, plan: AvatarPlan) -> None:
    assert customer_view(state, plan) is DURING[plan.during]
    assert agent_view(state, plan) is DURING[plan.during]


@pytest.mark.parametrize("plan", PLANS)
def test_after_the_call_the_agents_preview_follows_the_conclusion_while_the_customer_is_there(
        plan: AvatarPlan) -> None:
    assert customer_view(S.ENDED, plan) is AFTER[plan.after]
    assert agent_view(S.ENDED, plan) is AFTER[plan.after]
    assert agent_view(S.ENDED, plan, customer_present=False) is V.OFF


def test_plan_built_from_wire_strings_behaves_like_enums() -> None:
    plan = AvatarPlan.model_validate({"during": "overlay", "after": "off"})
    assert customer_view(S.CONNECTED, plan) is V.OVERLAY
    assert customer_view(S.ENDED, plan) is V.OFF


@pytest.mark.parametrize(("state", "plan"), list(itertools.product(list(CallState), PLANS)))
def test_the_agents_voice_drives_the_avatar_only_in_as_agent_during_the_call(
        state: CallState, plan: AvatarPlan) -> None:
    assert agent_voice(state, plan) is (state in ACTIVE and plan.during is DuringMode.AS_AGENT)
