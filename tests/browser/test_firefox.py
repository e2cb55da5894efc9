"""The shipped customer page and agent console in Debian's Firefox ESR (WebDriver BiDi), besides
Chromium: the customer waits with the avatar, the agent takes the call, both see each other and
the avatar while the call stays connected, the agent ends it and the avatar says its conclusion.
Frames are what Firefox painted (``mozPaintedFrames``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatarcall.bench.lipsync import SENTENCE
from avatarcall.testing.browser import best_lag
from avatarcall.testing.firefox import assert_whole_flow, firefox, lipsync_series
from avatarcall.testing.server import Server

pytestmark = pytest.mark.browser


def test_the_pages_main_flow_in_firefox(server: Server) -> None:
    assert_whole_flow(firefox("pages", server.url))


def test_in_firefox_the_mouth_moves_with_the_avatars_voice(server: Server, tmp_path: Path) -> None:
    """Lip sync in Firefox: the SDK's LipSync holds the video with ``jitterBufferTarget`` where
    the browser has it; otherwise Firefox's own A/V sync is what the customer sees. Either way
    the mouth moves with the sound; the lag is printed (bench lipsync measures it)."""
    seen = lipsync_series(server.url, SENTENCE, 8000, tmp_path)
    lag_ms, corr = best_lag(seen["series"])
    print(f"\nlip sync in Firefox {seen['browser']} (jitterBufferTarget: "
          f"{seen['jitter_buffer_target']}): lag {lag_ms:+.0f} ms, correlation {corr:.2f}")
    opening = [v for _, v in seen["series"]["mouth"]]
    assert max(opening) - min(opening) > 0.01  # the mouth moves
    assert corr > 0.15  # and with the sound
    assert seen["errors"] == []
