"""A customer and an agent, each in their own Chromium context, doing what a person does."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
)

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
CHROMIUM = os.environ.get("AVATARCALL_CHROMIUM", "/usr/bin/chromium")


async def launch_chromium(playwright):
    """Debian's Chromium; Playwright never downloads a browser of its own."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def by_testid(page: Page, name: str):
    return page.get_by_test_id(name)


class Scripted(Protocol):
    """A page that runs scripts: Playwright's (Chromium) or the Firefox driver's."""

    async def evaluate(self, expression: str, arg: Any = None, /) -> Any: ...


class Participant(Protocol):
    """Someone in a browser: a :class:`Person` in Chromium, or a Firefox one."""

    @property
    def page(self) -> Scripted: ...


@dataclass
class Person:
    context: BrowserContext
    page: Page
    # Every error its pages wrote to the console or threw, from the start (``watch_errors``).
    errors: list[str] = field(default_factory=list)

    async def state(self, which: str) -> str:
        """The state's machine value (``data-state``; the visible word may be translated)."""
        return (await by_testid(self.page, which).get_attribute("data-state") or "").strip()

    async def expect_state(self, which: str, value: str, timeout: int = TIMEOUT) -> None:
        await expect(by_testid(self.page, which)).to_have_attribute("data-state", value,
                                                                   timeout=timeout)

    async def decoded_frames(self, which: str) -> int:
        """Frames the <video> has decoded so far (Chromium's counter on the element)."""
        return int(await by_testid(self.page, which).evaluate(
            "v => v.webkitDecodedFrameCount ?? v.getVideoPlaybackQuality().totalVideoFrames"))

    async def close(self) -> None:
        await self.context.close()


DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)


# The console's own "who is signed in?" before sign-in answers 401: the browser logs it.
EXPECTED_REFUSALS = ("/api/me",)


def unexpected(person: Person) -> list[str]:
    """The person's console errors, but for the refusals the pages expect."""
    return [e for e in person.errors
            if not (e.startswith("Failed to load resource") and "401" in e
                    and any(path in e for path in EXPECTED_REFUSALS))]


async def new_person(browser: Browser, locale: str = "en-US", colour: str | None = None,
                     ignore_https_errors: bool = False, init_script: str | None = None,
                     viewport: ViewportSize | None = None) -> Person:
    """A fresh context; ``ignore_https_errors`` for a server with a self-signed certificate;
    ``init_script`` runs in every page before the page's own scripts; a phone's ``viewport``
    (``PHONE``) also means touch and a phone's pixel ratio."""
    phone = viewport is not None and viewport["width"] < 600
    context = await browser.new_context(locale=locale, viewport=viewport or DESKTOP,
                                        ignore_https_errors=ignore_https_errors,
                                        is_mobile=phone, has_touch=phone,
                                        device_scale_factor=2 if phone else 1)
    if colour is not None:
        await context.add_init_script(COLOURED_CAMERA % colour)
    if init_script is not None:
        await context.add_init_script(init_script)
    page = await context.new_page()
    person = Person(context, page)
    watch_errors(person)
    return person


def watch_errors(person: Person) -> None:
    """Record in ``person.errors`` what its pages (this one and any opened later) say went wrong."""
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            person.errors.append(f"{message.text} ({where})")

    def on_page(page: Page) -> None:
        page.on("console", on_console)
        page.on("pageerror", lambda error: person.errors.append(f"uncaught: {error}"))

    on_page(person.page)
    person.context.on("page", on_page)


async def customer_starts_call(browser: Browser, url: str, locale: str = "en-US",
                               colour: str | None = None, link: str | None = None,
                               ignore_https_errors: bool = False,
                               init_script: str | None = None,
                               viewport: ViewportSize | None = None,
                               name: str | None = None, topic: str | None = None) -> Person:
    """The customer opens the page (or the ``link`` they were given), says who they are and
    what it is about if ``name`` and ``topic`` are given, and starts the call."""
    customer = await new_person(browser, locale, colour, ignore_https_errors, init_script, viewport)
    await customer.page.goto(link or url + "/")
    for testid, text in (("customer-name", name), ("customer-topic", topic)):
        if text is not None:
            await by_testid(customer.page, testid).fill(text)
    await by_testid(customer.page, "start-call").click()
    await customer.expect_state("call-state", "waiting")
    return customer


async def agent_logs_in(browser: Browser, url: str, name: str = "alice",
                        password: str = "correct-horse", colour: str | None = None,
                        ignore_https_errors: bool = False, locale: str = "en-US",
                        viewport: ViewportSize | None = None,
                        init_script: str | None = None) -> Person:
    agent = await new_person(browser, locale, colour=colour, ignore_https_errors=ignore_https_errors,
                             init_script=init_script, viewport=viewport)
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


# --- what the tests read off a page (instrumentation, not part of the product) -------------

# Every text the state badges show, with when (performance.now(), ms).
RECORD_STATES = """
() => {
  const history = { 'call-state': [], 'avatar-state': [] };
  for (const id of Object.keys(history)) {
    const el = document.querySelector(`[data-testid="${id}"]`);
    history[id].push([el.dataset.state, performance.now()]);
    new MutationObserver(() => {
      const last = history[id][history[id].length - 1];
      if (!last || last[0] !== el.dataset.state) history[id].push([el.dataset.state, performance.now()]);
    }).observe(el, { attributes: true, attributeFilter: ['data-state'] });
  }
  window.__testStates = history;
}
"""

# The loudness (RMS) of a video element's sound every 50 ms for ``ms``: [performance.now(), rms].
AUDIO_LEVELS = """
async ([testid, ms]) => {
  const stream = document.querySelector(`[data-testid="${testid}"]`).srcObject;
  if (!stream || stream.getAudioTracks().length === 0) return [];
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  const levels = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    levels.push([performance.now(), Math.sqrt(sum / buf.length)]);
    await new Promise((r) => setTimeout(r, 50));
  }
  ctx.close();
  return levels;
}
"""

AUDIO_LEVEL = """
async ([testid, ms]) => {
  const video = document.querySelector(`[data-testid="${testid}"]`);
  const stream = video.srcObject;
  if (!stream || stream.getAudioTracks().length === 0) return 0;
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let peak = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    peak = Math.max(peak, Math.sqrt(sum / buf.length));
    await new Promise((r) => setTimeout(r, 20));
  }
  await ctx.close();
  return peak;
}
"""

CENTER_COLOR = """
(testid) => {
  const video = document.querySelector(`[data-testid="${testid}"]`);
  if (!video.videoWidth) return null;
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0);
  const d = ctx.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data;
  return [d[0], d[1], d[2]];
}
"""

# A camera of one solid colour (and a tone as microphone), so a test can tell people apart.
COLOURED_CAMERA = """
(() => {
  const colour = '%s';
  navigator.mediaDevices.getUserMedia = async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 320; canvas.height = 240;
    const ctx = canvas.getContext('2d');
    const paint = () => { ctx.fillStyle = colour; ctx.fillRect(0, 0, 320, 240); };
    paint();
    setInterval(paint, 50);
    const stream = canvas.captureStream(20);
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const dest = audio.createMediaStreamDestination();
    tone.connect(dest); tone.start();
    stream.addTrack(dest.stream.getAudioTracks()[0]);
    return stream;
  };
})();
"""


async def record_states(person: Participant) -> None:
    await person.page.evaluate(RECORD_STATES)


async def timed_history(person: Person, which: str) -> list[tuple[str, float]]:
    """(state, ms) pairs since ``record_states``; a reload loses them."""
    return [(str(s), float(t)) for s, t in await person.page.evaluate(f"window.__testStates['{which}']")]


async def state_history(person: Person, which: str) -> list[str]:
    return [state for state, _ in await timed_history(person, which)]


def seconds_between(history: list[tuple[str, float]], start: str, end: str,
                    since: float = float("-inf")) -> float | None:
    """Time from the last ``start`` to the first ``end`` after it, in seconds, among the states
    shown at ``since`` (ms, as in the history) or later."""
    t0 = None
    for state, t in history:
        if t < since:
            continue
        if state == start:
            t0 = t
        elif state == end and t0 is not None:
            return (t - t0) / 1000
    return None


async def audio_level(person: Person, which: str = "avatar-video", ms: int = 1500) -> float:
    return float(await person.page.evaluate(AUDIO_LEVEL, [which, ms]))


async def audio_levels(person: Person, which: str = "avatar-video",
                       ms: int = 5000) -> list[tuple[float, float]]:
    """(when, in the page's ms; loudness) every 50 ms for ``ms``."""
    return [(float(t), float(x)) for t, x in await person.page.evaluate(AUDIO_LEVELS, [which, ms])]


async def center_colour(person: Person, which: str = "remote-video") -> list[int] | None:
    return await person.page.evaluate(CENTER_COLOR, which)


async def frames_decoded(person: Person, which: str = "remote-video") -> int:
    """framesDecoded of the call link's inbound video (getStats), as the page publishes it."""
    value = await by_testid(person.page, which).get_attribute("data-frames-decoded")
    return int(value or 0)


async def call_id_of(customer: Participant) -> str:
    return str(await customer.page.evaluate("document.body.dataset.callId"))


# Mouth openness (share of dark pixels in the mouth region of each presented frame) and the
# avatar stream's sound level, both on the page's clock, for ``ms`` milliseconds.
LIPSYNC_PROBE = """
async ([testid, ms, roi]) => {
  const video = document.querySelector(`[data-testid="${testid}"]`);
  const stream = video.srcObject;
  const ctx = new AudioContext();
  // Each audio block carries the time it plays (playbackTime), so the sound's timeline does not
  // depend on when this busy page gets to run its callbacks.
  const processor = ctx.createScriptProcessor(256, 1, 1);
  ctx.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(processor);
  processor.connect(ctx.destination);
  const audio = [];
  processor.onaudioprocess = (e) => {
    const data = e.inputBuffer.getChannelData(0);
    let sum = 0;
    for (const v of data) sum += v * v;
    const ts = ctx.getOutputTimestamp();
    audio.push([ts.performanceTime + (e.playbackTime - ts.contextTime) * 1000, Math.sqrt(sum / data.length)]);
  };
  const canvas = document.createElement('canvas');
  const [x, y, w, h] = roi;
  canvas.width = w; canvas.height = h;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const mouth = [];
  const end = performance.now() + ms;
  await new Promise((resolve) => {
    setTimeout(resolve, ms + 5000); // a page that paints nothing ends with few frames, not a hang
    const onFrame = (now, meta) => {
      const scale = video.videoWidth / 512;
      g.drawImage(video, x * scale, y * scale, w * scale, h * scale, 0, 0, w, h);
      const d = g.getImageData(0, 0, w, h).data;
      let dark = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 240) dark += 1;
      mouth.push([meta.expectedDisplayTime ?? now, dark / (w * h)]);
      if (performance.now() < end) video.requestVideoFrameCallback(onFrame); else resolve();
    };
    video.requestVideoFrameCallback(onFrame);
  });
  processor.onaudioprocess = null;
  // Firefox's close() sometimes never settles when its sound plays on PulseAudio
  await Promise.race([ctx.close(), new Promise((resolve) => setTimeout(resolve, 1000))]);
  return { mouth, audio };
}
"""

MOUTH_ROI = (206, 280, 100, 80)  # x, y, w, h on the 512x512 avatar

# For comparisons only: the page can no longer hold its video back (jitterBufferTarget is
# ignored), which leaves lip sync to the browser's own audio/video synchronisation.
BROWSER_SYNC_ONLY = """
Object.defineProperty(RTCRtpReceiver.prototype, 'jitterBufferTarget', {
  configurable: true, get() { return null; }, set(value) {},
});
"""


async def lipsync_series(person: Participant, ms: int, which: str = "avatar-video",
                         roi: tuple[int, int, int, int] = MOUTH_ROI) -> dict[str, list[list[float]]]:
    return await person.page.evaluate(LIPSYNC_PROBE, [which, ms, list(roi)])


def best_lag(series: dict[str, list[list[float]]], max_lag_ms: int = 300,
             step_ms: int = 10) -> tuple[float, float]:
    """(lag_ms, correlation) maximising the correlation of mouth openness with sound level.

    A positive lag means the mouth moves after the sound.
    """
    import numpy as np

    assert len(series["mouth"]) > 10 and len(series["audio"]) > 10, (
        f"{len(series['mouth'])} frames painted, {len(series['audio'])} blocks of sound heard")
    # In time order: Firefox's audio callbacks do not always come in the order they play.
    mouth = np.array(sorted(series["mouth"]), dtype=float)
    audio = np.array(sorted(series["audio"]), dtype=float)
    t0 = max(mouth[0, 0], audio[0, 0]) + max_lag_ms
    t1 = min(mouth[-1, 0], audio[-1, 0]) - max_lag_ms
    grid = np.arange(t0, t1, step_ms)
    # Smooth the sound over one video frame, as the mouth can only change once per frame.
    level = np.interp(grid, audio[:, 0], audio[:, 1])
    best = (0.0, -1.0)
    for lag in range(-max_lag_ms, max_lag_ms + 1, step_ms):
        opening = np.interp(grid + lag, mouth[:, 0], mouth[:, 1])
        if opening.std() == 0 or level.std() == 0:
            continue
        corr = float(np.corrcoef(opening, np.convolve(level, np.ones(4) / 4, mode="same"))[0, 1])
        if corr > best[1]:
            best = (float(lag), corr)
    return best


async def connected_pair(browser: Browser, url: str, locale: str = "en-US",
                         avatar_live: bool = True) -> tuple[Person, Person]:
    """A customer and an agent in a connected call (and, by default, both avatars live);
    their state badges are recorded from then on (see ``state_history``)."""
    customer = await customer_starts_call(browser, url, locale)
    agent = await agent_logs_in(browser, url)
    await agent_accepts(agent, await call_id_of(customer))
    for person in (customer, agent):
        await person.expect_state("call-state", "connected")
        if avatar_live:
            await person.expect_state("avatar-state", "live")
        await record_states(person)
    return customer, agent


async def assert_video_flows(*people: Person, seconds: float = 2.0) -> None:
    """framesDecoded (getStats) of each person's call link keeps rising."""
    import asyncio

    before = [await frames_decoded(p) for p in people]
    await asyncio.sleep(seconds)
    after = [await frames_decoded(p) for p in people]
    assert all(b > a for a, b in zip(before, after)), (before, after)
