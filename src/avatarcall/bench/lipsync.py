"""``avatarcall bench lipsync``: the A/V offset a customer sees, in Chromium.

A customer and an agent in a call (two browser contexts, one server, all on this machine); the
avatar speaks, either its own speech (TTS, typed by the agent) or the agent's live voice (the
"as-agent" mode, the agent's fake microphone playing a spoken WAV). In the customer's page the
mouth region's opening is measured on every decoded frame and the sound level of the avatar's
stream with WebAudio; the lag that best correlates them is the offset. Each run is made twice,
alternately: with the SDK's LipSync (the product) and with the browser's own A/V sync alone.
Where Debian's Firefox ESR is installed, each run also measures the avatar's speech there, with
and without LipSync (it works only where ``jitterBufferTarget`` exists; the row says which), its
sound played on a null sink at the wall clock's pace (``avatarcall.testing.speakers``).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SECONDS = 8
SENTENCE = ("Bonjour madame, je vous remercie pour votre patience. Nous allons regarder ensemble "
            "votre dossier, puis je vous propose une solution simple et rapide.")
SOURCES = {"speech": "avatar speech (TTS)", "voice": "agent's live voice"}
VARIANTS = {"ours": "LipSync (ours)", "browser": "browser sync only"}
FIREFOX_LABEL = {True: "Firefox, LipSync (ours)", False: "Firefox, its own sync"}
FIREFOX_VARIANTS = {"firefox": None, "firefox-own": "Firefox, its own sync only"}


@dataclass
class Offsets:
    lags: list[float] = field(default_factory=list)
    correlations: list[float] = field(default_factory=list)
    failures: int = 0
    label: str = ""  # the variant's words when not one of VARIANTS


async def _one(browser, url: str, source: str, variant: str) -> tuple[float, float]:
    from avatarcall.testing.browser import (
        BROWSER_SYNC_ONLY,
        agent_accepts,
        agent_logs_in,
        best_lag,
        by_testid,
        call_id_of,
        customer_starts_call,
        lipsync_series,
    )

    script = BROWSER_SYNC_ONLY if variant == "browser" else None
    customer = await customer_starts_call(browser, url, "fr-FR", init_script=script)
    agent = await agent_logs_in(browser, url)
    try:
        await agent_accepts(agent, await call_id_of(customer))
        await customer.expect_state("call-state", "connected")
        await customer.expect_state("avatar-state", "live")
        if source == "speech":
            await by_testid(agent.page, "avatar-say").fill(SENTENCE)
            await by_testid(agent.page, "avatar-say-submit").click()
        else:
            await by_testid(agent.page, "avatar-mode").select_option("as-agent")
            await customer.expect_state("avatar-state", "live")
            await asyncio.sleep(1.5)  # the new avatar link settles
        series = await lipsync_series(customer, SECONDS * 1000)
        await by_testid(agent.page, "end-call").click()  # its avatar stops: the next run is alone
        await customer.expect_state("call-state", "ended")
        return best_lag(series)
    finally:
        await customer.close()
        await agent.close()


async def _run(runs: int) -> dict[tuple[str, str], Offsets]:
    with tempfile.TemporaryDirectory(prefix="avatarcall-bench-lipsync-",
                                     ignore_cleanup_errors=True) as work:
        return await _run_in(Path(work), runs)


async def _run_in(work: Path, runs: int) -> dict[tuple[str, str], Offsets]:
    from playwright.async_api import async_playwright

    from avatarcall.testing.browser import CHROMIUM, CHROMIUM_ARGS
    from avatarcall.testing.server import start_server
    from avatarcall.testing.voice import write_voice_wav

    wav = write_voice_wav(work / "agent.wav")
    results = {(s, v): Offsets() for s in SOURCES for v in VARIANTS}
    server = start_server(work / "server")
    try:
        async with async_playwright() as p:
            args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"]
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
            for i in range(runs):
                for source, source_label in SOURCES.items():
                    for variant, variant_label in VARIANTS.items():  # alternated: same machine
                        offsets = results[(source, variant)]
                        try:
                            lag, corr = await _one(browser, server.url, source, variant)
                        except Exception as exc:  # noqa: BLE001 (a failed run is counted, never hidden)
                            offsets.failures += 1
                            print(f"  run {i + 1} {source} {variant}: failed ({exc})", flush=True)
                            continue
                        offsets.lags.append(lag)
                        offsets.correlations.append(corr)
                        print(f"  run {i + 1}/{runs} {source_label:<22} {variant_label:<18} "
                              f"lag {lag:+5.0f} ms  correlation {corr:.2f}", flush=True)
                await asyncio.to_thread(_firefox_run, server.url, work, results, i, runs)
            await browser.close()
    finally:
        server.stop()
    return results


def _firefox_run(url: str, work: Path, results: dict[tuple[str, str], Offsets], i: int,
                 runs: int) -> None:
    """The avatar's speech in Firefox, with LipSync and with Firefox's own sync alone
    (nothing when Firefox or the driver is not here)."""
    from avatarcall.testing.browser import BROWSER_SYNC_ONLY, best_lag
    from avatarcall.testing.firefox import available, lipsync_series

    if not available():
        return
    for variant, label in FIREFOX_VARIANTS.items():
        offsets = results.setdefault(("speech", variant), Offsets(label=label or FIREFOX_LABEL[True]))
        preload = BROWSER_SYNC_ONLY if variant == "firefox-own" else ""
        try:
            seen = lipsync_series(url, SENTENCE, SECONDS * 1000, work, preload, sound=True)
            lag, corr = best_lag(seen["series"])
        except AssertionError as exc:  # a failed run is counted, never hidden
            offsets.failures += 1
            print(f"  run {i + 1} speech {variant}: failed ({str(exc)[:300]})", flush=True)
            continue
        offsets.lags.append(lag)
        offsets.correlations.append(corr)
        offsets.label = label or FIREFOX_LABEL[bool(seen["jitter_buffer_target"])]
        print(f"  run {i + 1}/{runs} {SOURCES['speech']:<22} {offsets.label:<18} lag {lag:+5.0f} ms  "
              f"correlation {corr:.2f}", flush=True)


def print_offsets(results: dict[tuple[str, str], Offsets]) -> None:
    print(f"\nA/V offset at the browser (Chromium, and Firefox where installed; mouth opening vs sound level over {SECONDS} s; "
          "negative = lips lead the sound)")
    print(f"  {'':<52} {'median':>8} {'range':>16} {'corr.':>7} {'runs':>6}")
    for (source, variant), o in results.items():
        label = f"{SOURCES[source]}, {o.label or VARIANTS[variant]}"
        if not o.lags:
            print(f"  {label:<52} {'-':>8} {'-':>16} {'-':>7} {0:>3}/{o.failures}")
            continue
        spread = f"{min(o.lags):+.0f}..{max(o.lags):+.0f} ms"
        print(f"  {label:<52} {statistics.median(o.lags):+6.0f} ms {spread:>16} "
              f"{statistics.median(o.correlations):7.2f} {len(o.lags):>3}/{len(o.lags) + o.failures}")


def measure(runs: int) -> dict[tuple[str, str], Offsets] | None:
    """None when Playwright is not installed (the server-only install)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return None
    return asyncio.run(_run(runs))


def run(runs: int = 5) -> int:
    results = measure(runs)
    if results is None:
        print("A/V offset at the browser: skipped (Playwright is not installed)")
        return 0
    print_offsets(results)
    return 0
