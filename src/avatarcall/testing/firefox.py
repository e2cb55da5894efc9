"""Debian's Firefox ESR, driven over WebDriver BiDi by ``tests/js/firefox.mjs`` (puppeteer-core;
Playwright cannot drive a stock Firefox): a customer and an agent through a whole call with
the avatar, and what they saw."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from avatarcall.testing.node import installed

ROOT = Path(__file__).resolve().parents[3]
DRIVER = ROOT / "tests" / "js" / "firefox.mjs"
FIREFOX = os.environ.get("AVATARCALL_FIREFOX", "/usr/bin/firefox-esr")


def available() -> bool:
    """Whether Firefox, node and the driver are here (scripts/setup.sh --test; a checkout)."""
    return all(shutil.which(x) for x in (FIREFOX, "node")) and DRIVER.exists()


def firefox(mode: str, *urls: str, timeout: float = 240) -> dict[str, Any]:
    """Run the flow (``pages`` or ``vue``); what it saw, or an AssertionError with the step."""
    if not shutil.which(FIREFOX):
        import pytest

        pytest.skip(f"no Firefox at {FIREFOX} (scripts/setup.sh --test installs Debian's)")
    installed(DRIVER.parent)
    done = subprocess.run(["node", str(DRIVER), mode, *urls], capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "AVATARCALL_FIREFOX": FIREFOX})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    seen = json.loads(lines[-1]) if lines else {}
    assert done.returncode == 0 and lines, (
        f"firefox {mode}: {seen.get('failed') or done.stderr[-3000:]} {seen.get('errors', '')}")
    print(json.dumps({k: v for k, v in seen.items() if k != "series"}))  # (series: long)
    return seen


def lipsync_series(server_url: str, sentence: str, ms: int, work: Path) -> dict[str, Any]:
    """A call in Firefox whose avatar says ``sentence``: the customer's page's mouth openness
    and sound level over ``ms`` (:data:`~avatarcall.testing.browser.LIPSYNC_PROBE`), and
    whether this Firefox has ``jitterBufferTarget`` (the SDK's LipSync needs it)."""
    from avatarcall.testing.browser import LIPSYNC_PROBE, MOUTH_ROI

    probe = work / "lipsync-probe.js"
    probe.write_text(LIPSYNC_PROBE.strip())
    return firefox("lipsync", server_url, str(probe), sentence, str(ms), json.dumps(list(MOUTH_ROI)))


def assert_whole_flow(seen: dict[str, Any]) -> None:
    """Each video a person looks at shows frames, the call stayed up beside the avatar, and no
    page said anything went wrong."""
    for name in ("waiting_avatar", "customer_sees_agent", "agent_sees_customer", "call_avatar",
                 "conclusion_avatar"):
        assert seen[name]["frames"] >= 5 and seen[name]["width"] > 0, (name, seen)
    assert seen["call_state_with_avatar"] == "connected"
    assert seen["errors"] == []
