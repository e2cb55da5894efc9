"""aiortc's connect task failing because its link was closed while connecting is one info line,
not an unretrieved-exception traceback; anything else still reaches the loop's handler."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest
from aiortc.exceptions import InvalidStateError

from avatarcall.avatar.stray import quiet_closed_connects


class RTCPeerConnection:
    """Stands for aiortc's: it starts ``__connect`` in a task nobody awaits."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __connect(self) -> None:
        raise self.error

    def connect(self) -> None:
        asyncio.ensure_future(self.__connect())


async def _unretrieved(error: Exception) -> None:
    RTCPeerConnection(error).connect()
    await asyncio.sleep(0.01)
    gc.collect()
    await asyncio.sleep(0.01)


async def test_a_link_closed_while_connecting_is_a_line_not_a_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: seen.append(context))
    quiet_closed_connects(loop)
    with caplog.at_level(logging.INFO, logger="avatarcall.avatar.stray"):
        await _unretrieved(InvalidStateError("RTCIceTransport is closed"))
    assert seen == []
    assert "closed while it was connecting" in caplog.text
    await _unretrieved(RuntimeError("something else"))
    assert [type(c["exception"]) for c in seen] == [RuntimeError]
    loop.set_exception_handler(None)
