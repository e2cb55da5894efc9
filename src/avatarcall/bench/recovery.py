"""``avatarcall bench recovery``: a relay-only call whose customer sits behind the network lab,
broken N times in each of three ways, and how long until it is whole again, without a reload:

- ``turn``: coturn stopped for 5 s, then started again;
- ``cut``: the customer's link drops everything for 5 s, then comes back;
- ``change``: the customer's traffic suddenly comes from another address (a handover).

Timed from the moment the network is back (coturn answering, the link restored, the address
changed) to the customer's page painting frames again in each element (at least 5 frames per
second over half a second): the agent's video, the avatar.

The call runs :data:`SETTLE_SECONDS` before its first break, as a call does before its network
fails. Broken within a second of its video starting (a dozen frames decoded), Chromium's
receiver holds every new frame 3-4 s once the path is back, then drops them at once, whatever
the sender does (keyframes again, no RTX): 3.6-4.7 s for the first TURN restart of every run
before the settling, 0.5-1.5 s after it."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from avatarcall.bench.stats import median, ms, p95
from avatarcall.testing.lab_call import BrowserName, LabCall
from avatarcall.testing.media_probe import watch

OUTAGE_SECONDS = 5.0
SETTLE_SECONDS = 5.0
DEADLINE_SECONDS = 60.0
SCENARIOS = ("turn", "cut", "change")


async def _painting_again(call: LabCall, since: float) -> dict[str, float | None]:
    """Seconds from ``since`` until each element paints again (None: not by the deadline)."""
    back: dict[str, float | None] = {"remote-video": None, "avatar-video": None}
    while time.monotonic() - since < DEADLINE_SECONDS and None in back.values():
        seen = await watch(call.customer, 0.5)
        for which, value in back.items():
            if value is None and seen[which].fps >= 5:
                back[which] = time.monotonic() - since
    return back


async def _break(call: LabCall, scenario: str) -> float:
    """Break the call's network one way; when it is back (monotonic time)."""
    if scenario == "turn":
        call.coturn.stop()
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(call.coturn.start)
    elif scenario == "cut":
        call.lab.cut()
        await asyncio.sleep(OUTAGE_SECONDS)
        call.lab.restore()
    else:
        call.lab.change_network()
    return time.monotonic()


async def _main(runs: int, scenarios: tuple[str, ...], browser: BrowserName) -> None:
    from playwright.async_api import async_playwright

    from avatarcall.testing.lab_call import lab_call

    results: dict[str, tuple[list[float], list[float], int]] = {}
    with tempfile.TemporaryDirectory(prefix="avatarcall-bench-", ignore_cleanup_errors=True) as work:
        async with async_playwright() as p, lab_call(Path(work), p.chromium,
                                                            customer_in=browser) as call:
            await asyncio.sleep(SETTLE_SECONDS)
            for scenario in scenarios:
                calls, avatars, ok = [], [], 0
                for i in range(runs):
                    back = await _break(call, scenario)
                    again = await _painting_again(call, back)
                    call_s, avatar_s = again["remote-video"], again["avatar-video"]
                    calls += [call_s] if call_s is not None else []
                    avatars += [avatar_s] if avatar_s is not None else []
                    ok += call_s is not None and avatar_s is not None
                    print(f"  {scenario} {i + 1}/{runs}: call {ms(call_s)}, avatar {ms(avatar_s)}",
                          flush=True)
                    await asyncio.sleep(3)
                results[scenario] = (calls, avatars, ok)
    print(f"\navatarcall bench recovery --runs {runs} --browser {browser}  (relay-only through coturn; the customer "
          f"behind the network lab; outages of {OUTAGE_SECONDS:.0f} s; the call ran "
          f"{SETTLE_SECONDS:.0f} s before its first)\n")
    print("| broken by | back without a reload | call video p50 | p95 | avatar p50 | p95 |")
    print("|---|---|---|---|---|---|")
    for scenario, (calls, avatars, ok) in results.items():
        print(f"| {scenario} | {ok}/{runs} | {ms(median(calls))} | {ms(p95(calls))} | "
              f"{ms(median(avatars))} | {ms(p95(avatars))} |")
    print("\ntimes from the network being back to frames painted again on the customer's page; "
          "goal (issue #17): p95 <= 3 s for the call and the avatar")


def run(runs: int, scenarios: tuple[str, ...] = SCENARIOS, browser: BrowserName = "chromium") -> int:
    asyncio.run(_main(runs, scenarios, browser))
    return 0
