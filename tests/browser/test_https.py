"""The whole flow over HTTPS (``avatarcall serve --tls self-signed``), as on a LAN where cameras
need a secure context: a customer opens the link an integrator's backend made for them, an agent
takes that call, both are connected and the avatar is live; the strict content security policy
blocks nothing the pages need."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import ConsoleMessage, expect

from avatarcall.testing.browser import (
    agent_accepts,
    agent_logs_in,
    by_testid,
    call_id_of,
    frames_decoded,
    new_person,
)
from avatarcall.testing.server import Server, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("https"), tls="self-signed")
    yield srv
    srv.stop()


def invitation(server: Server) -> dict[str, str]:
    """What an integrator's backend does: an API key, then a link for a named customer."""
    env = {**os.environ, "AVATARCALL_DATA_DIR": str(server.data_dir)}
    key = subprocess.run([sys.executable, "-m", "avatarcall", "apikey", "add", "shop"], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    response = httpx.post(f"{server.url}/api/integrations/calls", verify=False,
                          json={"customer": "Ada Lovelace", "language": "en-GB", "topic": "Order 4411"},
                          headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_invited_customer_and_an_agent_talk_over_https(browser, https_server: Server) -> None:
    assert https_server.url.startswith("https://")
    invited = invitation(https_server)
    blocked: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            blocked.append(message.text)

    customer = await new_person(browser, ignore_https_errors=True)
    customer.page.on("console", watch)  # from the first byte of the page on
    await customer.page.goto(invited["url"])
    await expect(by_testid(customer.page, "customer-name")).to_be_hidden()  # the link says who
    await by_testid(customer.page, "start-call").click()
    await customer.expect_state("call-state", "waiting")
    assert await call_id_of(customer) == invited["call_id"]  # the link's call, not a new one
    assert "call=" not in customer.page.url  # the token left the address bar
    assert await customer.page.evaluate("window.isSecureContext") is True
    await customer.expect_state("avatar-state", "live")

    agent = await agent_logs_in(browser, https_server.url, ignore_https_errors=True)
    agent.page.on("console", watch)
    queue_item = agent.page.locator(f'[data-testid="queue-item"][data-call-id="{invited["call_id"]}"]')
    await queue_item.wait_for()
    assert "Ada Lovelace" in (await queue_item.text_content() or "")
    assert "Order 4411" in (await queue_item.text_content() or "")
    await agent_accepts(agent, invited["call_id"])
    for person in (customer, agent):
        await person.expect_state("call-state", "connected")
        await person.expect_state("avatar-state", "live")
    # Media flows both ways (the call link's decoded frames keep rising).
    before = [await frames_decoded(p) for p in (customer, agent)]
    await customer.page.wait_for_timeout(1500)
    after = [await frames_decoded(p) for p in (customer, agent)]
    assert all(b > a for a, b in zip(before, after)), (before, after)

    await by_testid(agent.page, "end-call").click()
    await customer.expect_state("call-state", "ended")
    assert not blocked, blocked
    # The agent's session cookie is Secure, HttpOnly and SameSite=Strict.
    cookie = next(c for c in await agent.context.cookies() if c["name"] == "avatarcall_agent")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    await customer.close()
    await agent.close()
    certificate = Path(https_server.data_dir / "tls" / "self-signed.crt")
    assert certificate.exists()
