"""The benches' speakers for Firefox (``avatarcall.testing.speakers``): a PulseAudio of our own
whose default output is a null sink, reachable at the address the browser is given."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from avatarcall.testing.speakers import speakers

pytestmark = pytest.mark.skipif(not shutil.which("pulseaudio"),
                                reason="no pulseaudio (scripts/setup.sh --test installs it)")


def test_speakers_are_a_null_sink_of_a_pulseaudio_of_our_own() -> None:
    env = speakers()
    assert env["PULSE_SERVER"].startswith("unix:/")
    assert speakers() == env  # one per process
    info = subprocess.run(["pactl", "info"], env={"PULSE_SERVER": env["PULSE_SERVER"]},
                          capture_output=True, text=True, timeout=10, check=True).stdout
    assert "Default Sink: speakers" in info
