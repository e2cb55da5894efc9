"""``avatarcall bench recovery``: relay-only calls through a real coturn that is stopped for 5 s
and started again, N times; prints how often the call and the avatar came back without a reload,
and how long it took (from coturn's restart to video decoding again / the avatar live again)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from avatarcall.bench.stats import median, ms, p95

OUTAGE_SECONDS = 5.0
DEADLINE_SECONDS = 60.0
SECRET = "bench-recovery-secret"


async def _until(check, deadline: float) -> float | None:
    """Seconds until ``check()`` is true (polled every 100 ms), None past ``deadline``."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if await check():
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    return None


async def _main(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="avatarcall-bench-", ignore_cleanup_errors=True) as work:
        await _main_in(Path(work), runs)


async def _main_in(base: Path, runs: int) -> None:
    from playwright.async_api import async_playwright

    from avatarcall.testing import browser as b
    from avatarcall.testing.coturn import start_coturn
    from avatarcall.testing.server import start_server

    coturn = start_coturn(base / "coturn", SECRET)
    server = start_server(base / "server", AVATARCALL_TURN_URLS=f'["{coturn.url}"]',
                          AVATARCALL_TURN_SECRET=SECRET, AVATARCALL_ICE_RELAY_ONLY="true")
    call_times: list[float] = []
    avatar_times: list[float] = []
    ok = 0
    try:
        async with async_playwright() as p:
            browser = await b.launch_chromium(p)
            customer = await b.customer_starts_call(browser, server.url)
            agent = await b.agent_logs_in(browser, server.url)
            await b.agent_accepts(agent, await b.call_id_of(customer))
            for person in (customer, agent):
                await person.expect_state("call-state", "connected")
                await person.expect_state("avatar-state", "live")
            for i in range(runs):
                await b.record_states(customer)
                coturn.stop()
                await asyncio.sleep(OUTAGE_SECONDS)
                await asyncio.to_thread(coturn.start)
                frames = {id(p): await b.frames_decoded(p) for p in (customer, agent)}

                async def video_back(before: dict[int, int] = frames) -> bool:
                    now = [await b.frames_decoded(p) for p in (customer, agent)]
                    return all(n > before[id(p)] + 5 for n, p in zip(now, (customer, agent)))

                async def avatar_back() -> bool:
                    history = await b.state_history(customer, "avatar-state")
                    return await customer.state("avatar-state") == "live" and (
                        "reconnecting" in history or "starting" in history)

                call_s, avatar_s = await asyncio.gather(
                    _until(video_back, DEADLINE_SECONDS), _until(avatar_back, DEADLINE_SECONDS))
                if call_s is not None:
                    call_times.append(call_s)
                if avatar_s is not None:
                    avatar_times.append(avatar_s)
                ok += call_s is not None and avatar_s is not None
                print(f"  run {i + 1}/{runs}: call {ms(call_s)}, avatar {ms(avatar_s)}", flush=True)
                await asyncio.sleep(2)
            await browser.close()
    finally:
        server.stop()
        coturn.stop()
    print(f"\navatarcall bench recovery --runs {runs}  (relay-only through coturn on 127.0.0.1; "
          f"coturn stopped {OUTAGE_SECONDS:.0f} s, then started again)\n")
    print(f"  back without a reload: {ok}/{runs}")
    print("  time from coturn's restart      median      p95")
    print(f"    call video decoding again  {ms(median(call_times)):>9} {ms(p95(call_times)):>9}")
    print(f"    avatar live again          {ms(median(avatar_times)):>9} {ms(p95(avatar_times)):>9}\n")


def run(runs: int) -> int:
    asyncio.run(_main(runs))
    return 0
