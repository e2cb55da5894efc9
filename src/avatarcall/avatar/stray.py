"""aiortc starts a peer connection's ICE and DTLS in a task nobody awaits
(``RTCPeerConnection.__connect``). A viewer's link closed while it is still connecting (the
page left, the session stopped) makes that task fail with ``InvalidStateError`` ("... is
closed"), which asyncio reports as "Task exception was never retrieved" with a traceback: the
closing was ours and nothing is lost. :func:`quiet_closed_connects` makes that one case a line
of its own in the log; every other exception goes to the loop's handler as before."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiortc.exceptions import InvalidStateError

log = logging.getLogger(__name__)


def _closed_while_connecting(context: dict[str, Any]) -> bool:
    exception = context.get("exception")
    future = context.get("future")
    coro = future.get_coro() if isinstance(future, asyncio.Task) else None
    return (isinstance(exception, InvalidStateError) and "closed" in str(exception)
            and getattr(coro, "__qualname__", "").endswith("__connect"))


def quiet_closed_connects(loop: asyncio.AbstractEventLoop) -> None:
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if _closed_while_connecting(context):
            log.info("a peer connection closed while it was connecting (%s)",
                     context["exception"])
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
