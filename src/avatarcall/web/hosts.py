"""The Host header must name this server (a plain ASGI middleware, HTTP and WebSocket).

DNS rebinding: a page on ``evil.example`` makes its name resolve to this server's address, then
reads the anonymous endpoints (TURN credentials) and opens a socket whose Origin matches the
forged Host. Refusing every Host that is not one of this server's names defeats it. An IP
address as the Host is always accepted: a rebinding page can only ever send its own name.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

HEALTH_PATHS = ("/healthz", "/readyz")


def host_of(header: str) -> str:
    """The name in a Host header, without its port (``[::1]:8080`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:header.find("]")].lower() if "]" in header else ""
    return header.rsplit(":", 1)[0].lower() if header.count(":") == 1 else header.lower()


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class AllowedHosts:
    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self.names = {n.lower().strip("[]") for n in names if n}

    def allows(self, header: str | None) -> bool:
        if not header:
            return False
        name = host_of(header)
        return name in self.names or is_ip(name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                       if k == b"host"), None)
        # Health checks (load balancers, monitors) often send no Host: they reveal nothing.
        if self.allows(header) or scope.get("path") in HEALTH_PATHS:
            await self.app(scope, receive, send)
            return
        log.warning("request refused: Host %r is not one of this server's names",
                    (header or "")[:100])
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4403, "reason": "bad_host"})
            return
        body = json.dumps({"code": "bad_host", "retryable": False,
                           "message": "This server does not answer to that name "
                                      "(AVATARCALL_ALLOWED_HOSTS)."}).encode()
        await send({"type": "http.response.start", "status": 421,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
