"""What pages report about their links: stored in the call's timeline, logged, counted.

A page's report is its own word, so it is held to what the server saw: its times are moved onto
the server's clock (the page says when it sent the report) and kept within the call's life, and
a duration longer than the call has lasted, or than the step can take, is kept out of the
report's tables and counted (``avatarcall_telemetry_rejected_total{code="implausible"}``).
"""

from __future__ import annotations

import logging

from avatarcall.calls.journal import PageEventEntry, PageStatsEntry
from avatarcall.calls.models import Call, Role
from avatarcall.calls.scorecard import Scorecard
from avatarcall.errors import known_code
from avatarcall.flow.ports import CallRepository
from avatarcall.metrics import Metrics
from avatarcall.signaling import messages as m

log = logging.getLogger(__name__)

AVATAR_STATES = ("off", "starting", "live", "reconnecting", "error")
# The longest a page may say a step took, in ms: the pages give up on a call link after 30 s
# and on an avatar after 60 s (then the person retries, which starts the clock again).
MAX_ELAPSED_MS = {"connected": 90_000, "live": 120_000}
SLACK_MS = 2_000  # clocks and networks are not exact


class TelemetrySink:
    def __init__(self, repo: CallRepository, metrics: Metrics, scorecard: Scorecard) -> None:
        self.repo = repo
        self.metrics = metrics
        self.scorecard = scorecard

    async def record(self, role: Role, call: Call, msg: m.Telemetry, now: float) -> None:
        """Events and stats of an already validated and authorised telemetry message, received
        at ``now`` (the server's clock)."""
        offset = self._offset(msg, now)
        for event in msg.events:
            at = min(max(event.at / 1000 + offset, call.created_at), now)
            elapsed = event.elapsed_ms
            limit = min(MAX_ELAPSED_MS.get(event.kind, float("inf")),
                        (now - call.created_at) * 1000 + SLACK_MS)
            implausible = elapsed is not None and elapsed > limit
            if implausible:
                self.metrics.telemetry_rejected.labels(code="implausible").inc()
                log.warning("implausible page timing call=%s role=%s link=%s kind=%s "
                            "elapsed_ms=%s limit_ms=%.0f", call.id, role.value, event.link,
                            event.kind, elapsed, limit)
                elapsed = None
            await self.repo.add_event(call.id, PageEventEntry(
                role=role, link=event.link, event=event.kind, browser_at=event.at,
                value=event.value, elapsed_ms=elapsed, code=event.code,
                implausible=True if implausible else None), at=at)
            log.info("page event call=%s role=%s link=%s kind=%s elapsed_ms=%s code=%s",
                     call.id, role.value, event.link, event.kind, elapsed, event.code)
            self._count(role, call.id, event, elapsed)
        for sample in msg.stats:
            await self.repo.add_event(call.id, PageStatsEntry(
                role=role, link=sample.link, sample=sample.model_dump(exclude_none=True)))
            if sample.link == "avatar" and sample.playout_delay_ms is not None:
                self.metrics.avatar_playout_seconds.labels(role=role.value).observe(
                    sample.playout_delay_ms / 1000)

    @staticmethod
    def _offset(msg: m.Telemetry, now: float) -> float:
        """Seconds to add to the page's clock to get the server's: from when it says it sent
        the report, else from its newest event (sent within a second of it)."""
        sent = msg.sent_at if msg.sent_at is not None else max(
            (e.at for e in msg.events), default=now * 1000)
        return now - sent / 1000

    def _count(self, role: Role, call_id: str, event: m.TelemetryEvent,
               elapsed_ms: float | None) -> None:
        seconds = elapsed_ms / 1000 if elapsed_ms is not None else None
        if event.kind == "connected" and seconds is not None:
            self.metrics.connect_seconds.labels(link=event.link).observe(seconds)
        elif event.kind == "live" and seconds is not None:
            self.metrics.first_frame_seconds.labels(link=event.link).observe(seconds)
        elif event.kind == "recovered" and seconds is not None:
            self.metrics.recovery_seconds.labels(link=event.link).observe(seconds)
        elif event.kind == "error":
            self.metrics.errors.labels(source=role.value, code=known_code(event.code)).inc()
        if role is Role.CUSTOMER and event.link == "avatar" and event.kind in AVATAR_STATES:
            self.scorecard.customer_avatar(call_id, event.kind, event.code)
