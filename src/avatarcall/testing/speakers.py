"""Speakers for a browser on a machine without a sound card: PulseAudio with a null sink.

Firefox needs an audio output to play a call's sound at all. Without one the tests used to
give it its mock output (``media.cubeb.force_mock_context``), whose clock runs slow: 0.85 s of
sound a second on this machine, so every voice piled up in Firefox's jitter buffer (up to a
second) and the lip-sync figures measured the mock, not Firefox. A null sink plays nothing, at
the wall clock's pace, as a sound card does.

One PulseAudio per Python process, started when a browser first asks for it (in a directory of
its own, never the user's) and stopped at exit; where ``pulseaudio`` is not installed,
:func:`speakers` says so with an empty environment and Firefox keeps its mock output.

The benches that measure Firefox's sound and lips ask for it; the tests do not: on this busy
2-core machine a Firefox playing on PulseAudio now and then froze a page for minutes (an
``AudioContext`` never answering) or heard its sound in bursts (3 runs of 8 of the lip-sync
test), where the mock never failed (6 of 6). A bench counts such a run as failed.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_CONFIG = """\
load-module module-null-sink sink_name=speakers
set-default-sink speakers
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
"""
_started: dict[str, str] = {}


def speakers() -> dict[str, str]:
    """The environment a browser process needs to play its sound on the null sink
    (``PULSE_SERVER``), or ``{}`` when PulseAudio is not installed."""
    if _started or not shutil.which("pulseaudio"):
        return dict(_started)
    home = Path(tempfile.mkdtemp(prefix="avatarcall-speakers-"))
    path = home / "native"
    (home / "default.pa").write_text(_CONFIG.format(socket=path))
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(home), "XDG_CONFIG_HOME": str(home)}
    process = subprocess.Popen(
        ["pulseaudio", "-n", "-F", str(home / "default.pa"), "--daemonize=no", "--exit-idle-time=-1",
         "--use-pid-file=no", "--disallow-exit", "--realtime=no", "--high-priority=no",
         "--log-target=file:" + str(home / "log")],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(_stop, process, home)
    _wait_for(path, process, home)
    _started["PULSE_SERVER"] = f"unix:{path}"
    return dict(_started)


def _wait_for(path: Path, process: subprocess.Popen[bytes], home: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(path))
            return
        time.sleep(0.05)
    log = (home / "log").read_text() if (home / "log").exists() else ""
    raise RuntimeError(f"PulseAudio did not start (exit {process.poll()}): {log[-2000:]}")


def _stop(process: subprocess.Popen[bytes], home: Path) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(home, ignore_errors=True)
