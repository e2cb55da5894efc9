"""Take screenshots of the shipped pages in a real call (for docs/ and for looking at changes).

Usage: .venv/bin/python scripts/screenshots.py [OUT_DIR]   (default docs/)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

from avatarcall.testing.browser import (
    agent_accepts,
    agent_logs_in,
    by_testid,
    call_id_of,
    customer_starts_call,
    launch_chromium,
    new_person,
)
from avatarcall.testing.server import start_server


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    server = start_server(Path(tempfile.mkdtemp()))
    try:
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            landing = await new_person(browser)
            await landing.page.goto(server.url + "/")
            await landing.page.screenshot(path=out / "customer-landing.png")
            customer = await customer_starts_call(browser, server.url, "fr-FR")
            await customer.expect_state("avatar-state", "live")
            await asyncio.sleep(1.0)
            await customer.page.screenshot(path=out / "customer-waiting.png")
            login = await new_person(browser)
            await login.page.goto(server.url + "/agent")
            await login.page.screenshot(path=out / "agent-login.png")
            agent = await agent_logs_in(browser, server.url)
            await asyncio.sleep(1.5)
            await agent.page.screenshot(path=out / "agent-queue.png")
            await agent_accepts(agent, await call_id_of(customer))
            await customer.expect_state("call-state", "connected")
            await agent.expect_state("avatar-state", "live")
            await asyncio.sleep(1.5)
            await customer.page.screenshot(path=out / "customer-call.png")
            await agent.page.screenshot(path=out / "agent-call.png")
            await by_testid(agent.page, "end-call").click()
            await customer.expect_state("call-state", "ended")
            await asyncio.sleep(1.5)
            await customer.page.screenshot(path=out / "customer-after.png")
            await browser.close()
    finally:
        server.stop()
    print("\n".join(str(p) for p in sorted(out.glob("*.png"))))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))
