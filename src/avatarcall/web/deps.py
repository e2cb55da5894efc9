"""The server's services for a route or a socket, typed (FastAPI dependency providers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, WebSocket

from avatarcall.services import Services


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def socket_services(ws: WebSocket) -> Services:
    found: Services = ws.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
