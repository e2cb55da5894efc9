"""Hands out ICE server lists: to each page per link kind, and to the server's own aiortc links.

Static entries from the settings come first; TURN entries carry credentials minted at that
moment for that identity. A page asks again before they expire (``refresh_in``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from avatarcall.config import IceServer, Settings
from avatarcall.ice.credentials import REFRESH_FRACTION
from avatarcall.ice.servers import IceConfig, LinkKind, TurnPool, for_aiortc, ice_servers


class IceProvider:
    def __init__(self, config: IceConfig, static_call: list[IceServer] | None = None,
                 static_avatar: list[IceServer] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._static = {"call": static_call or [], "avatar": static_avatar or []}
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> IceProvider:
        def pool(urls: list[str], secret: Any) -> TurnPool | None:
            if not urls or secret is None:
                return None
            return TurnPool(tuple(urls), secret.get_secret_value(), settings.turn_ttl)

        call = pool(settings.turn_urls, settings.turn_secret)
        avatar = pool(settings.turn_urls_avatar, settings.turn_secret_avatar or settings.turn_secret) \
            if settings.turn_urls_avatar else call
        config = IceConfig(stun_urls=tuple(settings.stun_urls), call=call, avatar=avatar)
        return cls(config, settings.ice_servers_call, settings.ice_servers_avatar)

    def for_page(self, kind: LinkKind, identity: str) -> list[dict[str, Any]]:
        static = [s.model_dump(exclude_none=True) for s in self._static[kind]]
        return static + ice_servers(self.config, kind, identity, now=self._clock())

    def for_server(self) -> list[IceServer]:
        """What an avatar link made now uses: the avatar pool, fresh credentials."""
        return for_aiortc(self.for_page("avatar", "avatarcall-server"))

    @property
    def refresh_in(self) -> float | None:
        """Seconds after which a page should ask for fresh credentials (None: nothing expires)."""
        ttls = [p.ttl for p in (self.config.pool("call"), self.config.pool("avatar")) if p]
        return min(ttls) * REFRESH_FRACTION if ttls else None
