"""Never an endless spinner: a call link not up in 30 s and an avatar not live in 60 s show a
clear error with a retry button (here TURN is dead and the pages are relay-only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from avatarcall.testing.browser import (
    agent_accepts,
    agent_logs_in,
    by_testid,
    call_id_of,
    customer_starts_call,
)
from avatarcall.testing.coturn import free_port
from avatarcall.testing.server import Server, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def dead_turn_server(tmp_path: Path) -> Iterator[Server]:
    server = start_server(tmp_path, AVATARCALL_TURN_URLS=f'["turn:127.0.0.1:{free_port()}"]',
                          AVATARCALL_TURN_SECRET="nobody-listens", AVATARCALL_ICE_RELAY_ONLY="true")
    yield server
    server.stop()


async def test_deadlines_end_in_a_clear_error_with_retry(browser, dead_turn_server: Server) -> None:
    customer = await customer_starts_call(browser, dead_turn_server.url)
    agent = await agent_logs_in(browser, dead_turn_server.url)
    await agent_accepts(agent, await call_id_of(customer))
    await customer.expect_state("call-state", "connecting")
    error = by_testid(customer.page, "call-error")
    await expect(error).to_be_visible(timeout=40_000)
    await expect(error).to_contain_text("could not connect within 30 seconds")
    await customer.expect_state("avatar-state", "error", timeout=40_000)  # 60 s from its start
    await expect(by_testid(customer.page, "avatar-error")).to_contain_text("did not start within 60 seconds")
    await expect(by_testid(customer.page, "avatar-video")).to_be_hidden()
    # Retrying is offered and taken: the spinner starts again, with a fresh deadline.
    await by_testid(customer.page, "call-retry").click()
    await expect(error).to_be_hidden()
    await by_testid(customer.page, "avatar-retry").click()
    await customer.expect_state("avatar-state", "starting")
    await customer.close()
    await agent.close()
