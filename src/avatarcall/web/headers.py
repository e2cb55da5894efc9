"""Security headers on every HTTP response (a plain ASGI middleware; WebSockets pass through).

The policy allows only this server's own scripts (module scripts from /static: no inline script,
no inline handler), its own styles, and media from the page's own streams. A route that needs a
different policy (the API docs) sets its own ``Content-Security-Policy``, which is kept.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000"
PERMISSIONS = ("camera=(self), microphone=(self), display-capture=(self), autoplay=(self), "
               "geolocation=(), payment=(), usb=(), serial=()")


def content_security_policy(frame_ancestors: str = "'self'", *, script: str = "'self'",
                            style: str = "'self'", img: str = "'self' data: blob:") -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src {script}",
        f"style-src {style}",
        f"img-src {img}",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",  # CSP 3: 'self' covers ws: and wss: to this host
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


class SecurityHeaders:
    def __init__(self, app: ASGIApp, frame_ancestors: str = "'self'") -> None:
        self.app = app
        self.headers = {
            "content-security-policy": content_security_policy(frame_ancestors),
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",  # customer links carry their token in the URL
            "permissions-policy": PERMISSIONS,
            "cross-origin-opener-policy": "same-origin",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        api = scope.get("path", "").startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("strict-transport-security", HSTS)
                if api:  # tokens, TURN credentials, call records: never in a cache
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
