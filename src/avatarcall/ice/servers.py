"""ICE server lists per link kind: what the pages' and the server's peer connections are given.

Pages get RTCIceServer JSON (``{"urls": [...], "username": ..., "credential": ...}``)
with TURN credentials minted for the participant at that moment; the call link
and the avatar link may use separate TURN pools (their own URLs and secret).
The server's own aiortc links take a reduced list (``for_aiortc``), since aiortc
uses one STUN and one TURN server. Pure: time comes in as ``now``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from avatarcall.config import IceServer
from avatarcall.ice.credentials import DEFAULT_TTL, TurnCredential, mint

LinkKind = Literal["call", "avatar"]
LINK_KINDS: tuple[LinkKind, ...] = ("call", "avatar")

# RFC 7064 (stun:, stuns:) and RFC 7065 (turn:, turns:) URIs; an IPv6 host is bracketed.
_URL = re.compile(
    r"(?P<scheme>stuns?|turns?):(?P<host>\[[0-9A-Fa-f:.]+\]|[^\[\]?:/@\s]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?"
)


def _parse(url: str) -> re.Match[str]:
    match = _URL.fullmatch(url)
    if match is None:
        raise ValueError(f"not a STUN/TURN URL: {url!r}")
    port = match["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"bad port in {url!r}")
    if match["scheme"].startswith("stun") and match["transport"]:
        raise ValueError(f"a STUN URL takes no transport: {url!r}")
    return match


@dataclass(frozen=True)
class TurnPool:
    """TURN URLs sharing one coturn ``static-auth-secret``; the secret never shows in repr."""

    urls: tuple[str, ...]
    secret: str = field(repr=False)
    ttl: int = DEFAULT_TTL

    def __post_init__(self) -> None:
        urls = (self.urls,) if isinstance(self.urls, str) else tuple(self.urls)
        object.__setattr__(self, "urls", urls)
        if not urls:
            raise ValueError("a TURN pool needs at least one turn: or turns: URL")
        for url in urls:
            if not _parse(url)["scheme"].startswith("turn"):
                raise ValueError(f"a TURN pool takes turn: and turns: URLs, not {url!r}")
        if not self.secret:
            raise ValueError("a TURN pool needs its shared secret")
        if isinstance(self.ttl, bool) or not isinstance(self.ttl, int) or self.ttl <= 0:
            raise ValueError("the TURN credential lifetime must be a positive number of seconds, "
                             f"not {self.ttl!r}")


@dataclass(frozen=True)
class IceConfig:
    """STUN URLs shared by every link, and the TURN pool of each link kind (``None``: no TURN)."""

    stun_urls: tuple[str, ...] = ()
    call: TurnPool | None = None
    avatar: TurnPool | None = None

    def __post_init__(self) -> None:
        urls = (self.stun_urls,) if isinstance(self.stun_urls, str) else tuple(self.stun_urls)
        object.__setattr__(self, "stun_urls", urls)
        for url in urls:
            if not _parse(url)["scheme"].startswith("stun"):
                raise ValueError(f"stun_urls takes stun: and stuns: URLs, not {url!r}")

    @classmethod
    def shared(cls, stun_urls: Iterable[str], pool: TurnPool | None) -> IceConfig:
        """Call and avatar links relay through the same pool."""
        return cls(tuple(stun_urls), pool, pool)

    def pool(self, kind: LinkKind) -> TurnPool | None:
        if kind == "call":
            return self.call
        if kind == "avatar":
            return self.avatar
        raise ValueError(f"unknown link kind {kind!r}; expected one of {LINK_KINDS}")


@dataclass(frozen=True)
class IceGrant:
    """The servers handed to one participant for one link kind, and the credential inside them."""

    servers: list[dict[str, Any]] = field(repr=False)
    credential: TurnCredential | None
    """``None`` when the link kind has no TURN pool; else refresh it with ``refresh_at``."""


def grant(config: IceConfig, kind: LinkKind, identity: str, *, now: float) -> IceGrant:
    """Fresh ICE servers for ``identity`` on a ``kind`` link, TURN credentials minted at ``now``."""
    pool = config.pool(kind)
    servers: list[dict[str, Any]] = []
    if config.stun_urls:
        servers.append({"urls": list(config.stun_urls)})
    credential = None
    if pool is not None:
        credential = mint(pool.secret, identity, pool.ttl, now=now)
        servers.append({"urls": list(pool.urls), "username": credential.username,
                        "credential": credential.password})
    return IceGrant(servers, credential)


def ice_servers(config: IceConfig, kind: LinkKind, identity: str, *,
                now: float) -> list[dict[str, Any]]:
    """RTCIceServer JSON for a page's ``kind`` link: ``grant(...).servers``."""
    return grant(config, kind, identity, now=now).servers


def for_aiortc(servers: Sequence[Mapping[str, Any] | IceServer]) -> list[IceServer]:
    """The subset of ``servers`` that an aiortc peer connection can use, in their order.

    aiortc (1.16) keeps the first STUN URL and the first TURN URL it supports and
    ignores the rest: ``turn:`` over ``udp`` or ``tcp``, ``turns:`` over ``tcp``,
    and no IPv6 literal hosts (its URL parser raises on them). Choosing here
    makes the choice explicit and keeps an unusable URL from failing the link.
    """
    stun: IceServer | None = None
    turn: IceServer | None = None
    for entry in servers:
        server = entry if isinstance(entry, IceServer) else IceServer.model_validate(dict(entry))
        for url in server.urls:
            try:
                match = _parse(url)
            except ValueError:
                continue
            if match["host"].startswith("["):
                continue
            scheme, transport = match["scheme"], match["transport"]
            if scheme == "stun" and stun is None:
                stun = IceServer(urls=[url])
            elif (turn is None and server.username is not None and server.credential is not None
                  and (scheme == "turn" or (scheme == "turns" and transport in (None, "tcp")))):
                turn = IceServer(urls=[url], username=server.username, credential=server.credential)
    return [s for s in (stun, turn) if s is not None]
