"""A customer and an agent, each in their own browser context, doing what a person does."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Browser, BrowserContext, Page, expect

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]

TIMEOUT = 30_000


def by_testid(page: Page, name: str):  # noqa: ANN201 - a Playwright Locator
    return page.get_by_test_id(name)


@dataclass
class Person:
    context: BrowserContext
    page: Page

    async def state(self, which: str) -> str:
        return (await by_testid(self.page, which).text_content() or "").strip()

    async def expect_state(self, which: str, value: str, timeout: int = TIMEOUT) -> None:
        await expect(by_testid(self.page, which)).to_have_text(value, timeout=timeout)

    async def decoded_frames(self, which: str) -> int:
        """Frames the <video> has decoded so far (Chromium's counter on the element)."""
        return int(await by_testid(self.page, which).evaluate(
            "v => v.webkitDecodedFrameCount ?? v.getVideoPlaybackQuality().totalVideoFrames"))

    async def close(self) -> None:
        await self.context.close()


async def new_person(browser: Browser, locale: str = "en-US") -> Person:
    context = await browser.new_context(locale=locale, viewport={"width": 1200, "height": 860})
    page = await context.new_page()
    page.on("console", lambda msg: print(f"[{locale} console] {msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    return Person(context, page)


async def customer_starts_call(browser: Browser, url: str, locale: str = "en-US") -> Person:
    customer = await new_person(browser, locale)
    await customer.page.goto(url + "/")
    await by_testid(customer.page, "start-call").click()
    await customer.expect_state("call-state", "waiting")
    return customer


async def agent_logs_in(browser: Browser, url: str, name: str = "alice",
                        password: str = "correct-horse") -> Person:
    agent = await new_person(browser)
    await agent.page.goto(url + "/agent")
    await by_testid(agent.page, "login-user").fill(name)
    await by_testid(agent.page, "login-password").fill(password)
    await by_testid(agent.page, "login-submit").click()
    await expect(by_testid(agent.page, "end-call")).to_be_visible(timeout=TIMEOUT)
    return agent


async def agent_accepts(agent: Person, call_id: str | None = None) -> None:
    if call_id is not None:
        item = agent.page.locator(f'[data-testid="queue-item"][data-call-id="{call_id}"]')
    else:
        item = by_testid(agent.page, "queue-item").first
    await expect(item).to_be_visible(timeout=TIMEOUT)
    await item.get_by_test_id("accept-call").click()
