"""``avatarcall bench network``: one call whose customer's network is shaped by the lab (good,
4G, poor), seen from the customer's page: the agent's video and the avatar (frames painted per
second, freezes, the longest wait between two frames, the avatar's width: its layer), the
share of each one's sound the browser had to make up (concealed), and the avatar's A/V offset
while it speaks (mouth opening against sound level, as ``bench lipsync`` measures it).

Each profile is held for a few seconds before it is measured (the senders adapt), then watched
for ``--seconds``, ``--runs`` times; the table gives medians of the runs."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path

from avatarcall.bench.lipsync import SENTENCE
from avatarcall.bench.stats import median, ms
from avatarcall.testing import browser as b
from avatarcall.testing.lab_call import BrowserName, LabCall
from avatarcall.testing.media_probe import Seen, watch
from avatarcall.testing.shaping import PROFILES

SETTLE_SECONDS = 15.0  # the browsers and the avatar adapt to a new profile


async def _offset(call: LabCall, profile: str) -> float | None:
    """The avatar's A/V offset on the customer's page while it says a sentence (ms, negative:
    the lips lead), or None when mouth and sound do not correlate (nothing to align) or the
    avatar showed (almost) nothing meanwhile: said on a line of its own, and the run goes on."""
    await b.by_testid(call.agent.page, "avatar-say").fill(SENTENCE)
    await b.by_testid(call.agent.page, "avatar-say-submit").click()
    series = await b.lipsync_series(call.customer, 8000)
    await asyncio.sleep(3)  # the rest of the sentence: the next watch sees the avatar quiet
    if min(len(series["mouth"]), len(series["audio"])) <= 10:
        print(f"  {profile}: while the avatar spoke 8 s, the page painted "
              f"{len(series['mouth'])} of its frames and heard {len(series['audio'])} blocks "
              "of its sound: no A/V offset", flush=True)
        return None
    lag, correlation = b.best_lag(series)
    return lag if correlation > 0.15 else None


def _row(name: str, runs: list[dict[str, Seen]], offsets: list[float | None]) -> str:
    """Medians of the runs (at least one)."""
    call = [r["remote-video"] for r in runs]
    avatar = [r["avatar-video"] for r in runs]

    def concealed(seen: list[Seen]) -> str:
        share = median([s.concealed for s in seen if s.concealed is not None])
        return "-" if share is None else f"{100 * share:.1f} %"

    offset = median([o for o in offsets if o is not None])
    return (f"| {name} | {statistics.median(s.fps for s in call):.1f} | "
            f"{max(s.freezes for s in call)} | {ms(median([s.longest_gap_s for s in call]))} | "
            f"{concealed(call)} | {statistics.median(s.fps for s in avatar):.1f} | "
            f"{max(s.freezes for s in avatar)} | {ms(median([s.longest_gap_s for s in avatar]))} | "
            f"{statistics.median(s.width for s in avatar):.0f} px | {concealed(avatar)} | "
            f"{'-' if offset is None else f'{offset:+.0f} ms'} |")


async def _main(runs: int, seconds: float, profiles: list[str], browser: BrowserName) -> None:
    from playwright.async_api import async_playwright

    from avatarcall.testing.lab_call import lab_call

    rows = []
    with tempfile.TemporaryDirectory(prefix="avatarcall-bench-", ignore_cleanup_errors=True) as work:
        async with async_playwright() as p, lab_call(Path(work), p.chromium,
                                                            customer_in=browser) as call:
            for name in profiles:
                call.lab.shape(PROFILES[name])
                await asyncio.sleep(SETTLE_SECONDS)
                seen: list[dict[str, Seen]] = []
                offsets: list[float | None] = []
                for _ in range(runs):
                    seen.append(await watch(call.customer, seconds))
                    offsets.append(await _offset(call, name))
                rows.append(_row(name, seen, offsets))
                print(f"  {name}: done", flush=True)
    print(f"\navatarcall bench network --runs {runs} --seconds {seconds:g} --browser {browser}  "
          "(the customer's link shaped in user space, both ways; relay-only through coturn; seen on the "
          "customer's page)\n")
    print("| profile | agent video fps | freezes | longest gap | concealed audio | "
          "avatar fps | freezes | longest gap | avatar width | avatar concealed audio | "
          "avatar A/V offset |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    print("\nprofiles: 4g = 8 Mbps, 60 ms round trip, 1% loss; poor = 300 kbps, 200 ms round "
          "trip, 5% loss (each way). Goal (issue #17) on poor: both videos >= 15 fps, no freeze "
          "over 1 s, concealed audio < 5%. A/V offset: negative = the lips lead the sound; "
          "the best correlation of mouth opening and sound level over 8 s of speech.")


def run(runs: int = 1, seconds: float = 10.0, profiles: list[str] | None = None,
        browser: BrowserName = "chromium") -> int:
    asyncio.run(_main(runs, seconds, profiles or list(PROFILES), browser))
    return 0
