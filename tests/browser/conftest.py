"""Playwright driving Debian's Chromium: one browser, a fresh context per person."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from tests.browser.people import CHROMIUM_ARGS

CHROMIUM = os.environ.get("AVATARCALL_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.browser


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        await b.close()
