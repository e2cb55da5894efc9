"""ICE servers and TURN: REST credentials, per-link server lists, and coturn's configuration."""

from avatarcall.ice.coturn import DEFAULT_PORT, DEFAULT_TLS_PORT, render_config
from avatarcall.ice.credentials import (
    DEFAULT_TTL,
    REFRESH_FRACTION,
    TurnCredential,
    mint,
    refresh_at,
)
from avatarcall.ice.servers import (
    LINK_KINDS,
    IceConfig,
    IceGrant,
    LinkKind,
    TurnPool,
    for_aiortc,
    grant,
    ice_servers,
)

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_TLS_PORT",
    "DEFAULT_TTL",
    "LINK_KINDS",
    "REFRESH_FRACTION",
    "IceConfig",
    "IceGrant",
    "LinkKind",
    "TurnCredential",
    "TurnPool",
    "for_aiortc",
    "grant",
    "ice_servers",
    "mint",
    "refresh_at",
    "render_config",
]
