"""Playwright driving Debian's Chromium: one browser for the session, a fresh context per person."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from avatarcall.testing.browser import launch_chromium
from avatarcall.testing.coturn import Coturn, start_coturn

TURN_SECRET = "relay-test-secret"


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await launch_chromium(p)
        yield b
        await b.close()


@pytest.fixture(scope="session")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    """A real coturn on 127.0.0.1 (use-auth-secret with TURN_SECRET); it also answers STUN."""
    turn = start_coturn(tmp_path_factory.mktemp("coturn"), TURN_SECRET)
    yield turn
    turn.stop()
