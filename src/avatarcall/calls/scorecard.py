"""The report's success table, kept live: each phase of each call ends in one outcome.

Scenarios (the report's rows): ``avatar_before`` (its "avatar alone": the avatar while waiting),
``call_alone`` and ``call_with_avatar`` (its "WebRTC + avatar at once"), ``avatar_after``.
An outcome is ``success`` or the error code that ended the phase. Fed with what the customer's
page reports and with the call's own state changes; it only counts, never acts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from avatarcall.calls.state import CallState, is_active

Outcome = Callable[[str, str, str], None]  # (call_id, scenario, outcome)


@dataclass
class _Card:
    state: CallState = CallState.WAITING
    avatar: str = "off"  # the customer's avatar-state, as their page last reported it
    avatar_error: str | None = None
    before: bool = False  # avatar_before decided
    connected: bool = False
    avatar_during: bool = False
    after_pending: bool = False


class Scorecard:
    def __init__(self, on_outcome: Outcome) -> None:
        self._cards: dict[str, _Card] = {}
        self._emit = on_outcome

    def _card(self, call_id: str) -> _Card:
        return self._cards.setdefault(call_id, _Card())

    def customer_avatar(self, call_id: str, state: str, code: str | None = None) -> None:
        """The customer's page reports its avatar-state (off/starting/live/reconnecting/error)."""
        card = self._card(call_id)
        card.avatar = state
        if state == "error":
            card.avatar_error = code or "avatar_error"
        self._evaluate(call_id, card)

    def call_state(self, call_id: str, state: CallState, avatar_after: bool = True) -> None:
        """The call moved to ``state``; ``avatar_after`` says whether the avatar concludes it."""
        card = self._card(call_id)
        previous, card.state = card.state, state
        if state is CallState.CONNECTED:
            card.connected = True
        if previous is CallState.WAITING and state is not CallState.WAITING and not card.before:
            self._decide_before(call_id, card, success=False)
        if state is CallState.ENDED and is_active(previous):
            scenario = "call_with_avatar" if card.avatar_during else "call_alone"
            if not card.connected:
                self._emit(call_id, scenario, "call_not_connected")
            else:
                self._emit(call_id, scenario, "success")
        if state is CallState.ENDED and previous is not CallState.ENDED:
            card.after_pending = avatar_after
        self._evaluate(call_id, card)

    def forget(self, call_id: str) -> None:
        """The call leaves memory: phases still open failed."""
        card = self._cards.pop(call_id, None)
        if card is None:
            return
        if card.after_pending:
            self._emit(call_id, "avatar_after", card.avatar_error or "avatar_not_live")

    def _decide_before(self, call_id: str, card: _Card, success: bool) -> None:
        card.before = True
        self._emit(call_id, "avatar_before",
                   "success" if success else card.avatar_error or "avatar_not_live")

    def _evaluate(self, call_id: str, card: _Card) -> None:
        live = card.avatar == "live"
        if card.state is CallState.WAITING and live and not card.before:
            self._decide_before(call_id, card, success=True)
        if is_active(card.state) and live:
            card.avatar_during = True
        if card.state is CallState.ENDED and card.after_pending and live:
            card.after_pending = False
            self._emit(call_id, "avatar_after", "success")
