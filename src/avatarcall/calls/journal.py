"""What a call's timeline records: one kind per thing that happens, one typed detail per kind.

The timeline is stored as (name, detail) rows; ``name`` is what the dashboard shows and the
report reads (``call.connected``, ``avatar.live``, ``outcome``...). Entries are built here only,
so every writer of a kind writes the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from avatarcall.calls.models import Role
from avatarcall.calls.plan import AvatarPlan
from avatarcall.calls.state import CallState


class EntryKind(StrEnum):
    STATE = "state"  # the call's state changed
    AVATAR_PLAN = "avatar.plan"  # the agent chose what the avatar does
    AVATAR_SAY = "avatar.say"  # the agent made the avatar speak
    AVATAR_RESTARTED = "avatar.restarted"  # a new avatar session (a new epoch)
    AVATAR_FAILED = "avatar.failed"  # the server's avatar session failed
    AVATAR_SERVER_LINK = "avatar.server"  # a viewer's avatar link, as the server sees it
    PAGE_LINK = "page.link"  # a page's link state, as it reported it (drives the call's state)
    PAGE_EVENT = "page.event"  # something a page saw (its telemetry), on its own clock
    PAGE_STATS = "page.stats"  # a page's getStats() summary of one link
    OUTCOME = "outcome"  # a phase of the call ended (the report's success table)
    RATING = "rating"  # the customer said how the call went
    CONVERSATION = "conversation"  # what the customer and the assistant said to each other


@dataclass(frozen=True)
class _Entry:
    kind: ClassVar[EntryKind]

    @property
    def name(self) -> str:
        return self.kind.value

    def detail(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class StateEntry(_Entry):
    kind = EntryKind.STATE
    state: CallState
    reason: str | None = None

    def detail(self) -> dict[str, Any]:
        return {"state": self.state.value, "reason": self.reason}


@dataclass(frozen=True)
class PlanEntry(_Entry):
    kind = EntryKind.AVATAR_PLAN
    plan: AvatarPlan

    def detail(self) -> dict[str, Any]:
        return self.plan.model_dump(mode="json")


@dataclass(frozen=True)
class SayEntry(_Entry):
    kind = EntryKind.AVATAR_SAY
    chars: int  # how much was said, never what (it may be personal)


@dataclass(frozen=True)
class RestartedEntry(_Entry):
    kind = EntryKind.AVATAR_RESTARTED
    epoch: int


@dataclass(frozen=True)
class AvatarFailedEntry(_Entry):
    kind = EntryKind.AVATAR_FAILED
    code: str
    epoch: int


@dataclass(frozen=True)
class ServerLinkEntry(_Entry):
    kind = EntryKind.AVATAR_SERVER_LINK
    viewer: str
    state: str

    @property
    def name(self) -> str:
        return f"avatar.server.{self.state}"

    def detail(self) -> dict[str, Any]:
        return {"viewer": self.viewer}


@dataclass(frozen=True)
class PageLinkEntry(_Entry):
    kind = EntryKind.PAGE_LINK
    role: Role
    link: str
    state: str

    @property
    def name(self) -> str:
        return f"{self.link}.link.{self.state}"

    def detail(self) -> dict[str, Any]:
        return {"role": self.role.value}


@dataclass(frozen=True)
class PageEventEntry(_Entry):
    kind = EntryKind.PAGE_EVENT
    role: Role
    link: str
    event: str
    browser_at: float
    value: str | None = None
    elapsed_ms: float | None = None
    code: str | None = None
    implausible: bool | None = None  # its duration was beyond what the server saw: left out

    @property
    def name(self) -> str:
        return f"{self.link}.{self.event}"

    def detail(self) -> dict[str, Any]:
        extra = {"value": self.value, "elapsed_ms": self.elapsed_ms, "code": self.code,
                 "implausible": self.implausible}
        return {"role": self.role.value, "browser_at": self.browser_at,
                **{k: v for k, v in extra.items() if v is not None}}


@dataclass(frozen=True)
class PageStatsEntry(_Entry):
    kind = EntryKind.PAGE_STATS
    role: Role
    link: str
    sample: dict[str, Any]  # the page's summary, already validated at the edge

    @property
    def name(self) -> str:
        return f"{self.link}.stats"

    def detail(self) -> dict[str, Any]:
        return {"role": self.role.value, **self.sample}


@dataclass(frozen=True)
class OutcomeEntry(_Entry):
    kind = EntryKind.OUTCOME
    scenario: str
    outcome: str


@dataclass(frozen=True)
class RatingEntry(_Entry):
    kind = EntryKind.RATING
    stars: int


@dataclass(frozen=True)
class ConversationEntry(_Entry):
    """One turn: the customer's words, or the assistant's answer (``answer``: how it was found;
    ``open``: a question or message for the agent)."""

    kind = EntryKind.CONVERSATION
    role: str  # "customer" | "assistant"
    text: str
    answer: str | None = None
    entry: str | None = None  # the FAQ entry's id
    open: bool | None = None
    spoken: bool | None = None  # the customer said it aloud (else typed)


Entry = (StateEntry | RatingEntry | ConversationEntry | PlanEntry | SayEntry | RestartedEntry | AvatarFailedEntry | ServerLinkEntry
         | PageLinkEntry | PageEventEntry | PageStatsEntry | OutcomeEntry)
