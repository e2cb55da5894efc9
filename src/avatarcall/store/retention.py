"""How long what customers said to the assistant is kept: the conversation entries of calls'
timelines older than the retention setting are deleted, at start and every hour after."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from avatarcall.calls.journal import EntryKind

log = logging.getLogger(__name__)

EVERY = 3600.0


class Purgeable(Protocol):
    async def purge(self, kinds: tuple[str, ...], before: float) -> int: ...


async def forget_conversations(records: Purgeable, days: float) -> int:
    """Delete conversation entries older than ``days``; how many."""
    gone = await records.purge((EntryKind.CONVERSATION.value,), time.time() - days * 86400)
    if gone:
        log.info("retention: %d conversation entries older than %g days deleted", gone, days)
    return gone


async def keep_conversations(records: Purgeable, days: float, every: float = EVERY) -> None:
    """Run :func:`forget_conversations` now and every ``every`` seconds (until cancelled)."""
    while True:
        try:
            await forget_conversations(records, days)
        except Exception:  # a database that is down for a moment: next time
            log.exception("retention: conversations could not be purged")
        await asyncio.sleep(every)
