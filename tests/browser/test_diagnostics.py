"""/diagnostics: anyone can test their browser and network; a broken TURN is explained."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from avatarcall.testing.browser import by_testid, new_person
from avatarcall.testing.coturn import Coturn, free_port
from avatarcall.testing.server import Server, start_server
from tests.browser.conftest import TURN_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

CHECKS = ("camera", "stun", "turn", "simultaneous")
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def diagnosed_server(tmp_path: Path, coturn: Coturn) -> Iterator[Server]:
    server = start_server(tmp_path, AVATARCALL_STUN_URLS=f'["stun:127.0.0.1:{coturn.port}"]',
                          AVATARCALL_TURN_URLS=f'["{coturn.url}"]', AVATARCALL_TURN_SECRET=TURN_SECRET)
    yield server
    server.stop()


@pytest.fixture
def broken_turn_server(tmp_path: Path) -> Iterator[Server]:
    closed = free_port()  # nothing listens there
    server = start_server(tmp_path, AVATARCALL_TURN_URLS=f'["turn:127.0.0.1:{closed}?transport=udp"]',
                          AVATARCALL_TURN_SECRET=TURN_SECRET)
    yield server
    server.stop()


async def run_checks(browser, server: Server):
    person = await new_person(browser)
    await person.page.goto(server.url + "/diagnostics")
    await by_testid(person.page, "diag-start").click()
    verdict = by_testid(person.page, "diag-verdict")
    await expect(verdict).not_to_have_attribute("data-status", "running", timeout=60_000)
    return person


async def test_diagnostics_pass_on_this_machine(browser, diagnosed_server: Server) -> None:
    person = await run_checks(browser, diagnosed_server)
    print()
    for name in CHECKS:
        check = by_testid(person.page, f"diag-{name}")
        print(f"  {name}: {await check.get_attribute('data-status')} — "
              f"{await check.locator('.result').text_content()}")
    for name in CHECKS:
        await expect(by_testid(person.page, f"diag-{name}")).to_have_attribute("data-status", "pass")
    await expect(by_testid(person.page, "diag-verdict")).to_have_attribute("data-status", "pass")
    await person.page.screenshot(path=str(DOCS / "diagnostics.png"), full_page=True)
    await person.close()


async def test_a_closed_turn_port_is_a_clear_failure(browser, broken_turn_server: Server) -> None:
    person = await run_checks(browser, broken_turn_server)
    turn = by_testid(person.page, "diag-turn")
    await expect(turn).to_have_attribute("data-status", "fail")
    await expect(turn.locator(".result")).to_contain_text("No relay from turn:127.0.0.1")
    await expect(turn.locator(".result")).to_contain_text("will not connect")
    await expect(by_testid(person.page, "diag-simultaneous")).to_have_attribute("data-status", "pass")
    await expect(by_testid(person.page, "diag-verdict")).to_have_attribute("data-status", "fail")
    await person.close()
