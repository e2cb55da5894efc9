"""Take screenshots of the shipped pages in a real call (for docs/ and for looking at changes):
the customer on a phone (390x844, French) and on a desktop (1280x800, English), the agent's
console (1280x800, English and French).

Usage: .venv/bin/python scripts/screenshots.py [OUT_DIR]   (default docs/)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

from avatarcall.testing.browser import (
    DESKTOP,
    PHONE,
    agent_accepts,
    agent_logs_in,
    by_testid,
    call_id_of,
    customer_starts_call,
    launch_chromium,
    new_person,
)
from avatarcall.testing.server import start_server


async def one_call(browser, url: str, out: Path, *, phone: bool) -> None:
    """One whole call, the customer on a phone (French) or a desktop (English)."""
    tag = "phone" if phone else "desktop"
    viewport, locale = (PHONE, "fr-FR") if phone else (DESKTOP, "en-US")
    landing = await new_person(browser, locale, viewport=viewport)
    await landing.page.goto(url + "/")
    await landing.page.screenshot(path=out / f"customer-landing-{tag}.png")
    await landing.context.close()
    name, topic = ("Zoé", "Ma facture de novembre") if phone else ("Sam", "Delivery of order 4411")
    customer = await customer_starts_call(browser, url, locale, viewport=viewport, name=name,
                                          topic=topic)
    await customer.expect_state("avatar-state", "live")
    await asyncio.sleep(1.0)
    await customer.page.screenshot(path=out / f"customer-waiting-{tag}.png")
    if phone:  # a question for the assistant, and one it keeps for the agent
        for question in ("Acceptez-vous PayPal ?", "Ma machine à laver fait un bruit bizarre"):
            await by_testid(customer.page, "say-to-assistant").fill(question)
            await by_testid(customer.page, "say-to-assistant-submit").click()
            await asyncio.sleep(1.0)
        await customer.page.screenshot(path=out / "customer-conversation-phone.png")
    agent_locale = "en-US" if phone else "fr-FR"
    agent = await agent_logs_in(browser, url, locale=agent_locale)
    await asyncio.sleep(1.0)
    if not phone:
        await agent.page.screenshot(path=out / "agent-queue-fr.png")
    await agent_accepts(agent, await call_id_of(customer))
    await customer.expect_state("call-state", "connected")
    await agent.expect_state("avatar-state", "live")
    await asyncio.sleep(1.5)
    await customer.page.screenshot(path=out / f"customer-call-{tag}.png")
    if phone:
        await agent.page.screenshot(path=out / "agent-call.png")
        await by_testid(agent.page, "avatar-mode").select_option("as-agent")
        await asyncio.sleep(1.5)
        await customer.page.screenshot(path=out / "customer-as-agent-phone.png")
        await agent.page.screenshot(path=out / "agent-as-agent.png")
        await by_testid(agent.page, "avatar-mode").select_option("overlay")
        await asyncio.sleep(1.0)
        await agent.page.screenshot(path=out / "agent-overlay.png")
        await by_testid(agent.page, "avatar-mode").select_option("beside")
    await by_testid(customer.page, "hang-up").click()
    await customer.expect_state("call-state", "ended")
    await asyncio.sleep(1.5)
    await customer.page.screenshot(path=out / f"customer-after-{tag}.png")
    await agent.page.screenshot(path=out / f"agent-after-{'en' if phone else 'fr'}.png")
    await customer.context.close()
    await agent.context.close()


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    server = start_server(Path(tempfile.mkdtemp()))
    try:
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            login = await new_person(browser, "fr-FR")
            await login.page.goto(server.url + "/agent")
            await login.page.screenshot(path=out / "agent-login-fr.png")
            await login.context.close()
            await one_call(browser, server.url, out, phone=True)
            await one_call(browser, server.url, out, phone=False)
            await browser.close()
    finally:
        server.stop()
    print("\n".join(str(p) for p in sorted(out.glob("*.png"))))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))
