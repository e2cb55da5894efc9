"""HTTP pages, the REST API and the signaling WebSocket (transport only)."""

from avatarcall.web import api, pages, ws

__all__ = ["api", "pages", "ws"]
