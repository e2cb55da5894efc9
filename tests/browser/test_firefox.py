"""The shipped customer page and agent console in Debian's Firefox ESR (WebDriver BiDi), besides
Chromium: the customer waits with the avatar, the agent takes the call, both see each other and
the avatar while the call stays connected, the agent ends it and the avatar says its conclusion.
Frames are what Firefox painted (``mozPaintedFrames``)."""

from __future__ import annotations

import pytest

from avatarcall.testing.firefox import assert_whole_flow, firefox
from avatarcall.testing.server import Server

pytestmark = pytest.mark.browser


def test_the_pages_main_flow_in_firefox(server: Server) -> None:
    assert_whole_flow(firefox("pages", server.url))
