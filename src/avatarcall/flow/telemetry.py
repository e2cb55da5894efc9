"""What pages report about their links: stored in the call's timeline, logged, counted."""

from __future__ import annotations

import logging
import time

from avatarcall.calls.journal import PageEventEntry, PageStatsEntry
from avatarcall.calls.models import Role
from avatarcall.calls.scorecard import Scorecard
from avatarcall.flow.ports import CallRepository
from avatarcall.metrics import Metrics
from avatarcall.signaling import messages as m

log = logging.getLogger(__name__)

AVATAR_STATES = ("off", "starting", "live", "reconnecting", "error")


MAX_SKEW_SECONDS = 3600


def _page_time(browser_ms: float) -> float:
    """When the page saw it (its clock), so the timeline is in the order things happened; a
    page whose clock is off by more than an hour is placed at the server's time instead."""
    now = time.time()
    at = browser_ms / 1000
    return at if abs(at - now) < MAX_SKEW_SECONDS else now


class TelemetrySink:
    def __init__(self, repo: CallRepository, metrics: Metrics, scorecard: Scorecard) -> None:
        self.repo = repo
        self.metrics = metrics
        self.scorecard = scorecard

    async def record(self, role: Role, call_id: str, msg: m.Telemetry) -> None:
        """Events and stats of an already validated and authorised telemetry message."""
        for event in msg.events:
            await self.repo.add_event(call_id, PageEventEntry(
                role=role, link=event.link, event=event.kind, browser_at=event.at,
                value=event.value, elapsed_ms=event.elapsed_ms, code=event.code),
                at=_page_time(event.at))
            log.info("page event call=%s role=%s link=%s kind=%s elapsed_ms=%s code=%s",
                     call_id, role.value, event.link, event.kind, event.elapsed_ms, event.code)
            self._count(role, call_id, event)
        for sample in msg.stats:
            await self.repo.add_event(call_id, PageStatsEntry(
                role=role, link=sample.link, sample=sample.model_dump(exclude_none=True)))
            if sample.link == "avatar" and sample.playout_delay_ms is not None:
                self.metrics.avatar_playout_seconds.labels(role=role.value).observe(
                    sample.playout_delay_ms / 1000)

    def _count(self, role: Role, call_id: str, event: m.TelemetryEvent) -> None:
        seconds = event.elapsed_ms / 1000 if event.elapsed_ms is not None else None
        if event.kind == "connected" and seconds is not None:
            self.metrics.connect_seconds.labels(link=event.link).observe(seconds)
        elif event.kind == "live" and seconds is not None:
            self.metrics.first_frame_seconds.labels(link=event.link).observe(seconds)
        elif event.kind == "recovered" and seconds is not None:
            self.metrics.recovery_seconds.labels(link=event.link).observe(seconds)
        elif event.kind == "error":
            self.metrics.errors.labels(source=role.value, code=event.code or "unknown").inc()
        if role is Role.CUSTOMER and event.link == "avatar" and event.kind in AVATAR_STATES:
            self.scorecard.customer_avatar(call_id, event.kind, event.code)
