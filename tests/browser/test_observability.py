"""The report's tables, live: after a scripted call, /metrics and /admin show that call's figures,
and junk telemetry never disturbs a call."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from playwright.async_api import expect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from avatarcall.testing.browser import (
    agent_accepts,
    agent_logs_in,
    by_testid,
    call_id_of,
    customer_starts_call,
    frames_decoded,
    new_person,
    record_states,
    state_history,
)
from avatarcall.testing.metrics import metrics_text, sample
from avatarcall.testing.server import start_server
from avatarcall.testing.signaling import agent_cookie, receive, ws_url

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

DOCS = Path(__file__).resolve().parents[2] / "docs"



async def test_metrics_and_dashboard_show_a_scripted_call(browser, tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        customer = await customer_starts_call(browser, server.url)
        await customer.expect_state("avatar-state", "live")
        agent = await agent_logs_in(browser, server.url)
        await agent_accepts(agent, await call_id_of(customer))
        for person in (customer, agent):
            await person.expect_state("call-state", "connected")
            await person.expect_state("avatar-state", "live")
        await by_testid(agent.page, "end-call").click()
        await customer.expect_state("call-state", "ended")
        await asyncio.sleep(2.5)  # telemetry is flushed every second

        text = await metrics_text(server.url)
        assert sample(text, "avatarcall_connect_seconds_count", link="call") == 2  # both pages
        assert sample(text, "avatarcall_first_frame_seconds_count", link="avatar") == 2  # customer + preview
        for scenario in ("avatar_before", "call_with_avatar", "avatar_after"):
            assert sample(text, "avatarcall_sessions_total", scenario=scenario, outcome="success") == 1
        assert sample(text, "avatarcall_sessions_total", scenario="call_alone", outcome="success") == 0
        assert sample(text, "avatarcall_avatar_encode_ms_count") > 0

        admin = await new_person(browser)
        await admin.context.add_cookies(await agent.context.cookies())
        await admin.page.goto(server.url + "/admin")
        await expect(admin.page.locator("body[data-loaded=true]")).to_be_attached()
        rows = by_testid(admin.page, "components-table").locator("tbody tr")
        await expect(rows.nth(0).locator("td").nth(1)).to_have_text("2")
        await expect(rows.nth(1).locator("td").nth(1)).to_have_text("2")
        scenarios = by_testid(admin.page, "scenarios-table")
        for scenario in ("avatar_before", "call_with_avatar", "avatar_after"):
            await expect(scenarios.locator(f'tr[data-scenario="{scenario}"] td').nth(1)).to_have_text("1/1")
        await admin.page.screenshot(path=str(DOCS / "admin-dashboard.png"), full_page=True)
        await by_testid(admin.page, "call-row").first.click()
        await expect(by_testid(admin.page, "timeline-event").first).to_be_attached()
        assert await by_testid(admin.page, "timeline-event").count() > 10
        await by_testid(admin.page, "timeline").screenshot(path=str(DOCS / "admin-timeline.png"))
        for person in (customer, agent, admin):
            await person.close()
    finally:
        server.stop()


async def test_junk_telemetry_is_refused_and_never_disturbs_the_call(browser, server) -> None:
    customer = await customer_starts_call(browser, server.url)
    agent = await agent_logs_in(browser, server.url)
    call_id = await call_id_of(customer)
    await agent_accepts(agent, call_id)
    await customer.expect_state("call-state", "connected")
    await record_states(customer)
    frames = await frames_decoded(customer)

    cookie = await agent_cookie(server)
    headers = {"Cookie": f"avatarcall_agent={cookie}"}
    codes: list[str] = []
    async with connect(ws_url(server), additional_headers=headers) as junk:
        await receive(junk, "queue")
        bad = [
            {"type": "telemetry", "call_id": call_id, "events": [{"at": "yesterday", "link": "call", "kind": "x"}]},
            {"type": "telemetry", "call_id": call_id, "events": [{"at": 1, "link": "nope", "kind": "x"}]},
            {"type": "telemetry", "call_id": call_id, "stats": [{"link": "call", "packet_loss": 7}]},
            {"type": "telemetry", "call_id": call_id, "events": [{"at": 1, "link": "call", "kind": "x"}] * 51},
        ]
        for message in bad:
            await junk.send(json.dumps(message))
            codes.append((await receive(junk, "error"))["code"])
        flood = {"type": "telemetry", "call_id": call_id, "events": [{"at": 1, "link": "media", "kind": "junk"}]}
        for _ in range(60):
            await junk.send(json.dumps(flood))
        while "rate_limited" not in codes:
            codes.append((await receive(junk, "error"))["code"])
    assert codes[:4] == ["bad_message"] * 4
    async with connect(ws_url(server), additional_headers=headers, max_size=None) as huge:
        await receive(huge, "queue")
        await huge.send(json.dumps({"type": "telemetry", "call_id": call_id, "pad": "x" * 70_000}))
        with pytest.raises(ConnectionClosed) as closed:
            await receive(huge, "pong")
        assert closed.value.rcvd.code == 1009  # message too big

    assert sample(await metrics_text(server.url), "avatarcall_telemetry_rejected_total", code="rate_limited") > 0
    await asyncio.sleep(1)
    assert await frames_decoded(customer) > frames
    assert set(await state_history(customer, "call-state")) == {"connected"}
    await customer.close()
    await agent.close()
