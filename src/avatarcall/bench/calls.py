"""``avatarcall bench calls``: whole flows in Chromium, printed as the report's two tables.

Each run is one customer (a fresh browser context) and the same signed-in agent:
1. the customer starts a call and waits with the avatar        -> "avatar alone"
2. the agent accepts, with the avatar beside (even runs) or off -> "call + avatar" / "call alone"
3. the agent ends the call and the avatar concludes             -> "avatar after the call"
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from avatarcall.bench.stats import median, ms, p95, rate

CALL_DEADLINE_MS = 30_000
AVATAR_DEADLINE_MS = 90_000  # the report's avatar timeout
HOLD_SECONDS = 3.0


@dataclass
class Tally:
    call_seconds: list[float] = field(default_factory=list)
    avatar_seconds: list[float] = field(default_factory=list)
    call_timeouts: int = 0
    avatar_timeouts: int = 0
    scenarios: dict[str, list[bool]] = field(default_factory=dict)

    def outcome(self, scenario: str, ok: bool) -> None:
        self.scenarios.setdefault(scenario, []).append(ok)


async def _one_flow(browser, agent, url: str, with_avatar: bool, tally: Tally) -> None:
    from playwright.async_api import Error as PlaywrightError

    from avatarcall.testing import browser as b

    customer = await b.new_person(browser)
    try:
        await customer.page.goto(url + "/")
        await b.record_states(customer)
        await b.by_testid(customer.page, "start-call").click()
        try:
            await customer.expect_state("avatar-state", "live", timeout=AVATAR_DEADLINE_MS)
            seconds = b.seconds_between(await b.timed_history(customer, "avatar-state"), "starting", "live")
            if seconds is not None:
                tally.avatar_seconds.append(seconds)
            tally.outcome("avatar alone", True)
        except (AssertionError, PlaywrightError):
            tally.avatar_timeouts += 1
            tally.outcome("avatar alone", False)

        scenario = "call + avatar at once" if with_avatar else "call alone"
        await b.by_testid(agent.page, "avatar-mode").select_option("beside" if with_avatar else "off")
        await b.agent_accepts(agent, await b.call_id_of(customer))
        try:
            await customer.expect_state("call-state", "connected", timeout=CALL_DEADLINE_MS)
            await agent.expect_state("call-state", "connected", timeout=CALL_DEADLINE_MS)
            seconds = b.seconds_between(await b.timed_history(customer, "call-state"), "connecting", "connected")
            if seconds is not None:
                tally.call_seconds.append(seconds)
            if with_avatar:
                await customer.expect_state("avatar-state", "live", timeout=AVATAR_DEADLINE_MS)
            frames = await b.frames_decoded(customer)
            await asyncio.sleep(HOLD_SECONDS)
            history = await b.state_history(customer, "call-state")
            held = history[history.index("connected"):] == ["connected"]
            flowing = await b.frames_decoded(customer) > frames
            live = await customer.state("avatar-state") == "live" if with_avatar else True
            tally.outcome(scenario, held and flowing and live)
        except (AssertionError, PlaywrightError, ValueError):
            tally.call_timeouts += 1
            tally.outcome(scenario, False)

        await b.by_testid(agent.page, "end-call").click()
        try:
            await customer.expect_state("call-state", "ended", timeout=CALL_DEADLINE_MS)
            await customer.expect_state("avatar-state", "live", timeout=AVATAR_DEADLINE_MS)
            if not with_avatar:  # the avatar had to come back: that is a first frame too
                ended = [t for s, t in await b.timed_history(customer, "call-state") if s == "ended"]
                seconds = b.seconds_between(await b.timed_history(customer, "avatar-state"),
                                            "starting", "live", since=ended[-1])
                if seconds is not None:
                    tally.avatar_seconds.append(seconds)
            tally.outcome("avatar after the call", True)
        except (AssertionError, PlaywrightError):
            tally.avatar_timeouts += 1
            tally.outcome("avatar after the call", False)
    finally:
        await customer.close()


def _print(tally: Tally, runs: int) -> None:
    print(f"\navatarcall bench calls --runs {runs}  (Debian Chromium via Playwright, loopback)\n")
    print("Time to connect per component        median     p95        timeouts   report (median / timeout)")
    print(f"  Call link (ICE+DTLS, P2P)          {ms(median(tally.call_seconds)):>9}  {ms(p95(tally.call_seconds)):>9}  "
          f"{tally.call_timeouts:>8}   2-5 s / 30 s")
    print(f"  Avatar, offer to first frame       {ms(median(tally.avatar_seconds)):>9}  {ms(p95(tally.avatar_seconds)):>9}  "
          f"{tally.avatar_timeouts:>8}   15-25 s / 90 s")
    print("\nSuccess rate per scenario            ours               report")
    report = {"call alone": "95%", "avatar alone": "90%", "call + avatar at once": "0%",
              "avatar after the call": "85% (after a page refresh)"}
    for scenario in ("call alone", "avatar alone", "call + avatar at once", "avatar after the call"):
        outcomes = tally.scenarios.get(scenario, [])
        print(f"  {scenario:<34} {rate(sum(outcomes), len(outcomes)):<18} {report[scenario]}")
    print()


async def _run(runs: int) -> Tally:
    with tempfile.TemporaryDirectory(prefix="avatarcall-bench-", ignore_cleanup_errors=True) as work:
        return await _run_in(Path(work), runs)


async def _run_in(work: Path, runs: int) -> Tally:
    from playwright.async_api import async_playwright

    from avatarcall.testing.browser import agent_logs_in, launch_chromium
    from avatarcall.testing.server import start_server

    tally = Tally()
    server = start_server(work)
    try:
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            agent = await agent_logs_in(browser, server.url)
            for i in range(runs):
                await _one_flow(browser, agent, server.url, with_avatar=i % 2 == 0, tally=tally)
                print(f"  run {i + 1}/{runs} done", flush=True)
            await browser.close()
    finally:
        server.stop()
    return tally


def run(runs: int) -> int:
    tally = _run_sync(runs)
    _print(tally, runs)
    return 0


def _run_sync(runs: int) -> Tally:
    return asyncio.run(_run(runs))
