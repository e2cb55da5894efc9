"""Avatar capacity and its waiting line, in one place: calls and diagnostics take their avatars
here. When every avatar is in use a call waits in line (its pages show the local animation);
whenever a session ends, wherever it ran and whoever held it, the oldest call in line is next.
"""

from __future__ import annotations

import logging

from avatarcall.avatar.control import AvatarControl
from avatarcall.errors import AvatarUnavailable

log = logging.getLogger(__name__)


class AvatarSeats:
    def __init__(self, avatars: AvatarControl) -> None:
        self._avatars = avatars
        # Keys waiting for a free avatar, oldest first (a dict: in order, and a thousand
        # customers in line cost nothing to look up).
        self._line: dict[str, None] = {}

    async def take(self, key: str, language: str, *, wait: bool) -> int | None:
        """Start ``key``'s avatar; its epoch. With every avatar in use: ``None`` and ``key`` in
        line if ``wait``, else :class:`AvatarBusy`."""
        try:
            epoch = await self._avatars.start(key, language)
        except AvatarUnavailable:  # busy, or no worker could start it just now
            if not wait:
                raise
            if key not in self._line:
                self._line[key] = None
                log.warning("avatar busy call=%s: %d call(s) in line", key, len(self._line))
            return None
        self.leave_line(key)
        return epoch

    async def release(self, key: str) -> None:
        """``key`` needs no avatar any more (and no longer waits for one)."""
        self.leave_line(key)
        await self._avatars.stop(key)

    def leave_line(self, key: str) -> None:
        self._line.pop(key, None)

    def in_line(self, key: str) -> bool:
        return key in self._line

    def line(self) -> list[str]:
        """The keys waiting, oldest first."""
        return list(self._line)
