"""The one projection of a call into the shapes sent out (pages, REST, the dashboard)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from avatarcall.calls.models import Call, Role
from avatarcall.calls.state import CallState
from avatarcall.signaling import messages as m


def snapshot(call: Call, role: Role) -> m.CallSnapshot:
    return m.CallSnapshot(
        call_id=call.id, state=call.state, role=role, language=call.language,
        during=call.plan.during, after=call.plan.after,
        agent=call.agent.name if call.agent else None,
        customer=call.customer.name if call.customer else None, topic=call.topic,
        created_at=call.created_at, ended_at=call.ended_at, end_reason=call.end_reason,
    )


QUEUE_SHOWN = 200  # an agent's console lists this many; the total says how many wait


def queue(calls: Iterable[Call], away: Collection[str] = (),
          total: int | None = None) -> m.QueueUpdate:
    """The waiting customers, oldest first; ``away``: those whose page is closed; ``total``:
    how many wait (when ``calls`` are only the first of them)."""
    waiting = sorted((c for c in calls if c.state is CallState.WAITING), key=lambda c: c.created_at)
    return m.QueueUpdate(items=[
        m.QueueItem(call_id=c.id, customer=c.customer.name if c.customer else "",
                    language=c.language, waiting_since=c.created_at, connected=c.id not in away,
                    topic=c.topic)
        for c in waiting[:QUEUE_SHOWN]
    ], total=len(waiting) if total is None else total)
