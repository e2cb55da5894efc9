"""Debian's Firefox ESR, driven over WebDriver BiDi by ``tests/js/firefox.mjs`` (puppeteer-core;
Playwright cannot drive a stock Firefox): a customer and an agent through a whole call with
the avatar, and what they saw; or one person's page driven step by step (:class:`FirefoxPerson`,
in the network lab, say), as the tests drive Chromium's."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from avatarcall.testing.node import installed
from avatarcall.testing.speakers import speakers

ROOT = Path(__file__).resolve().parents[3]
DRIVER = ROOT / "tests" / "js" / "firefox.mjs"
FIREFOX = os.environ.get("AVATARCALL_FIREFOX", "/usr/bin/firefox-esr")
ASK_SECONDS = 300  # a backstop: the driver gives up on a page after 180 s (protocolTimeout)


def available() -> bool:
    """Whether Firefox, node and the driver are here (scripts/setup.sh --test; a checkout)."""
    return all(shutil.which(x) for x in (FIREFOX, "node")) and DRIVER.exists()


def _driver_env(sound: bool) -> dict[str, str]:
    """The driver's environment: which Firefox, and with ``sound`` speakers that play at the
    wall clock's pace (:mod:`avatarcall.testing.speakers`) instead of Firefox's mock output.
    A ``PULSE_SERVER`` of the caller's own (a desktop's) is never passed on: without ``sound``
    Firefox gets the mock, whatever machine the tests run on."""
    env = {k: v for k, v in os.environ.items() if k != "PULSE_SERVER"}
    return {**env, **(speakers() if sound else {}), "AVATARCALL_FIREFOX": FIREFOX}


def firefox(mode: str, *urls: str, timeout: float = 240, sound: bool = False) -> dict[str, Any]:
    """Run the driver's ``mode`` (``pages``, ``vue`` or ``lipsync``); what it saw, or an
    AssertionError with the step."""
    if not shutil.which(FIREFOX):
        import pytest

        pytest.skip(f"no Firefox at {FIREFOX} (scripts/setup.sh --test installs Debian's)")
    installed(DRIVER.parent)
    done = subprocess.run(["node", str(DRIVER), mode, *urls], capture_output=True, text=True,
                          timeout=timeout, check=False, env=_driver_env(sound))
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    seen = json.loads(lines[-1]) if lines else {}
    assert done.returncode == 0 and lines, (
        f"firefox {mode}: {seen.get('failed') or done.stderr[-3000:]} {seen.get('errors', '')}"
        f" pages: {seen.get('pages')}")
    print(json.dumps({k: v for k, v in seen.items() if k != "series"}))  # (series: long)
    return seen


def lipsync_series(server_url: str, sentence: str, ms: int, work: Path,
                   preload: str = "", sound: bool = False) -> dict[str, Any]:
    """A call in Firefox whose avatar says ``sentence``: the customer's page's mouth openness
    and sound level over ``ms`` (:data:`~avatarcall.testing.browser.LIPSYNC_PROBE`), and
    whether this Firefox has ``jitterBufferTarget`` (the SDK's LipSync needs it). ``preload``
    runs in the customer's page before its own scripts; ``sound``: see :func:`_driver_env`."""
    from avatarcall.testing.browser import LIPSYNC_PROBE, MOUTH_ROI

    probe = work / "lipsync-probe.js"
    probe.write_text(LIPSYNC_PROBE.strip())
    args = [server_url, str(probe), sentence, str(ms), json.dumps(list(MOUTH_ROI))]
    if preload:
        (work / "lipsync-preload.js").write_text(preload)
        args.append(str(work / "lipsync-preload.js"))
    return firefox("lipsync", *args, sound=sound)


def assert_whole_flow(seen: dict[str, Any]) -> None:
    """Each video a person looks at shows frames, the call stayed up beside the avatar, and no
    page said anything went wrong."""
    for name in ("waiting_avatar", "customer_sees_agent", "agent_sees_customer", "call_avatar",
                 "conclusion_avatar"):
        assert seen[name]["frames"] >= 5 and seen[name]["width"] > 0, (name, seen)
    assert seen["call_state_with_avatar"] == "connected"
    assert seen["errors"] == []


class FirefoxPage:
    """A page of a Firefox that ``firefox.mjs serve`` drives: what the tests ask of a
    Playwright page (``evaluate``, ``screenshot``), one JSON line each way."""

    def __init__(self, process: asyncio.subprocess.Process, errors: list[str]) -> None:
        self._process = process
        self._errors = errors
        self._ids = itertools.count()
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._reading = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            if not line.startswith(b"{"):
                continue
            said = json.loads(line)
            if said.get("event") == "ready":
                self.ready.set_result(said["browser"])
            elif said.get("event") == "error":
                if not said.get("url", "").endswith("/api/me"):  # before sign-in: 401, expected
                    self._errors.append(said["text"])
            elif "failed" in said and not self.ready.done():
                self.ready.set_exception(AssertionError(f"firefox serve: {said['failed']}"))
            elif (waiting := self._waiting.pop(said.get("id", -1), None)) is not None:
                if "error" in said:
                    waiting.set_exception(AssertionError(f"firefox: {said['error']}"))
                else:
                    waiting.set_result(said["result"])
        ended = AssertionError(f"firefox serve ended ({await self._process.wait()})")
        for waiting in [self.ready, *self._waiting.values()]:
            if not waiting.done():
                waiting.set_exception(ended)

    async def _ask(self, op: str, **args: Any) -> Any:
        assert self._process.stdin is not None
        request_id = next(self._ids)
        answer = self._waiting[request_id] = asyncio.get_running_loop().create_future()
        self._process.stdin.write(json.dumps({"id": request_id, "op": op, **args}).encode() + b"\n")
        await self._process.stdin.drain()
        try:
            return await asyncio.wait_for(answer, ASK_SECONDS)
        except TimeoutError:
            self._waiting.pop(request_id, None)
            raise AssertionError(f"firefox: no answer to {op} in {ASK_SECONDS} s (a frozen page)") from None

    async def goto(self, url: str) -> None:
        await self._ask("goto", url=url)

    async def click(self, testid: str) -> None:
        await self._ask("click", testid=testid)

    async def evaluate(self, source: str, arg: Any = None) -> Any:
        """``source``'s value in the page; a function's source is called with ``arg``."""
        return await self._ask("evaluate", source=source, arg=arg)

    async def screenshot(self, path: str) -> None:
        await self._ask("screenshot", path=path)

    async def close(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), 30)
        except TimeoutError:
            self._process.kill()
        await asyncio.gather(self._reading, return_exceptions=True)


class FirefoxPerson:
    """Someone in Firefox, as :class:`~avatarcall.testing.browser.Person` is in Chromium:
    ``page``, ``errors``, ``state``, ``expect_state``."""

    def __init__(self, page: FirefoxPage, errors: list[str]) -> None:
        self.page, self.errors = page, errors

    async def state(self, which: str) -> str:
        return str(await self.page.evaluate(
            f"document.querySelector('[data-testid=\"{which}\"]')?.dataset.state ?? ''"))

    async def expect_state(self, which: str, value: str, timeout: int = 30_000) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout / 1000
        while (now := await self.state(which)) != value:
            assert loop.time() < end, f"{which} stayed {now!r}, never {value!r}"
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def firefox_person(preload: str, work: Path,
                         launcher: Sequence[str] = ()) -> AsyncIterator[FirefoxPerson]:
    """A Firefox with one page that runs ``preload`` before its own scripts; ``launcher``
    runs the driver (and so Firefox) inside something: ``ip netns exec NAME``, say."""
    if not shutil.which(FIREFOX):
        import pytest

        pytest.skip(f"no Firefox at {FIREFOX} (scripts/setup.sh --test installs Debian's)")
    installed(DRIVER.parent)
    script = work / "firefox-preload.js"
    script.write_text(preload)
    process = await asyncio.create_subprocess_exec(
        *launcher, "node", str(DRIVER), "serve", str(script), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, env=_driver_env(sound=False))
    errors: list[str] = []
    page = FirefoxPage(process, errors)
    try:
        await asyncio.wait_for(asyncio.shield(page.ready), 120)
        yield FirefoxPerson(page, errors)
    finally:
        await page.close()
