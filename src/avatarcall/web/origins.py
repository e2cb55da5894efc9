"""Which pages may open the signaling WebSocket: the server's own (same host and port as the
request's ``Host``) and the configured ``allowed_origins``. A browser always sends ``Origin`` on
a WebSocket; a client that sends none is no browser page (and can claim any origin anyway), so it
is let through to authentication like any other."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_port(netloc: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port


def origin_allowed(origin: str | None, host: str | None,
                   allowed: list[str] | tuple[str, ...] = ()) -> bool:
    """True if a socket opened with this ``Origin`` header to this ``Host`` may proceed."""
    if origin is None:
        return True
    if "*" in allowed:
        return True
    origin = origin.strip()
    if origin.rstrip("/").lower() in {a.rstrip("/").lower() for a in allowed}:
        return True
    if origin == "null" or not host:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/"):
        return False
    mine, theirs = _host_port(host), _host_port(parts.netloc)
    if mine is None or theirs is None or mine[0] != theirs[0]:
        return False
    their_port = theirs[1] or DEFAULT_PORTS[parts.scheme]
    if mine[1] is None:
        # No port in Host: the default one of whatever scheme reached us (a TLS proxy may
        # forward https as plain ws), so the page must be on a default port too.
        return their_port in (80, 443)
    return mine[1] == their_port
