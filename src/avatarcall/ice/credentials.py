"""TURN REST credentials, as coturn's ``use-auth-secret`` / ``static-auth-secret`` checks them.

The scheme (draft-uberti-behave-turn-rest, coturn's "TURN REST API"): the
username is ``"{expiry}:{identity}"`` where ``expiry`` is a unix time in
seconds, and the password is ``base64(HMAC-SHA1(secret, username))``. coturn
recomputes the password from its own copy of the secret, refuses the username
once ``expiry`` is in the past, and counts ``user-quota`` per ``identity`` (the
part after the first ``:``). Nothing here reads the clock: ``now`` is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from dataclasses import dataclass, field

DEFAULT_TTL = 600
"""Seconds a minted credential can open a TURN session.

coturn 4.6 checks the expiry when a client session first authenticates; an
allocation made in time keeps refreshing past it. So an expired credential
stops new allocations (a new peer connection, an ICE restart), not running ones.
"""

REFRESH_FRACTION = 0.8
"""Share of a credential's lifetime after which a long call should mint a fresh one."""

# The STUN USERNAME attribute holds at most 513 bytes (RFC 8489, section 14.3).
_MAX_USERNAME_BYTES = 513


@dataclass(frozen=True)
class TurnCredential:
    """One minted TURN username and password; safe to log (the password is left out of repr)."""

    username: str
    password: str = field(repr=False)
    expires_at: int
    """Unix time (seconds) after which coturn refuses this username."""
    issued_at: int
    """Unix time (seconds) at which it was minted; with ``expires_at`` it gives the lifetime."""

    @property
    def ttl(self) -> int:
        return self.expires_at - self.issued_at


def mint(secret: str, identity: str, ttl: int = DEFAULT_TTL, *, now: float) -> TurnCredential:
    """A credential for ``identity`` valid ``ttl`` seconds from ``now`` under the shared ``secret``.

    ``identity`` names the participant (coturn applies ``user-quota`` per identity);
    it may contain ``:`` since coturn only splits at the first one.
    """
    if not secret:
        raise ValueError("the TURN shared secret is empty")
    if not identity or not identity.isprintable():
        raise ValueError("a TURN identity must be a non-empty printable string")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(
            f"the TURN credential lifetime must be a positive number of seconds, not {ttl!r}")
    issued_at = math.floor(now)
    expires_at = issued_at + ttl
    username = f"{expires_at}:{identity}"
    if len(username.encode()) > _MAX_USERNAME_BYTES:
        raise ValueError(
            f"a TURN username is at most {_MAX_USERNAME_BYTES} bytes; the identity is too long")
    return TurnCredential(username, password(secret, username), expires_at, issued_at)


def password(secret: str, username: str) -> str:
    """``base64(HMAC-SHA1(secret, username))``: the password coturn expects for ``username``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def refresh_at(credential: TurnCredential, now: float, *,
               fraction: float = REFRESH_FRACTION) -> float:
    """Unix time at which to mint a fresh credential: ``fraction`` of the way through its lifetime.

    Never earlier than ``now``: a credential already past its refresh point (or
    expired) is due at once.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"the refresh fraction must be in (0, 1], not {fraction!r}")
    return max(credential.issued_at + fraction * credential.ttl, now)
