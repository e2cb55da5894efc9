"""Playwright driving Debian's Chromium: one browser for the session, a fresh context per person."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from avatarcall.testing.browser import launch_chromium


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await launch_chromium(p)
        yield b
        await b.close()
