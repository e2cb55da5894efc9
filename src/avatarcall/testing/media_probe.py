"""What a person sees and hears on a page over a few seconds: per video element, the frames it
presented (frames per second, the longest wait between two, freezes, its width) and the share of
its sound the browser had to make up (concealed samples: lost or late packets).

Frames are counted with ``requestVideoFrameCallback`` (what was painted, not only decoded); a
freeze is a wait longer than three times the usual gap and 150 ms more than it (Chromium's own
definition in its stats). Sound: ``getStats`` of every peer connection the page made, which
:data:`PEER_CONNECTIONS` (an init script) keeps track of; each inbound audio stream is counted
for the element that plays its track.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from avatarcall.testing.browser import Participant

# Before the page's own scripts: remember every RTCPeerConnection it makes.
PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native || Native.__watched) return;
  window.__peerConnections = [];
  const Watched = function (...args) {
    const pc = new Native(...args);
    window.__peerConnections.push(pc);
    return pc;
  };
  Watched.prototype = Native.prototype;
  Object.setPrototypeOf(Watched, Native);
  Watched.__watched = true;
  window.RTCPeerConnection = Watched;
})();
"""

_PROBE = """
async ([ids, ms]) => {
  const els = ids.map(id => document.querySelector(`[data-testid="${id}"]`));
  const owner = (trackId) => els.findIndex(el => el?.srcObject?.getTracks().some(t => t.id === trackId));
  const sound = async () => {
    const seen = new Map();
    for (const pc of window.__peerConnections ?? []) {
      if (pc.connectionState === 'closed') continue;
      for (const r of (await pc.getStats()).values()) {
        if (r.type !== 'inbound-rtp' || r.kind !== 'audio') continue;
        seen.set(r.id + '@' + window.__peerConnections.indexOf(pc),
                 [owner(r.trackIdentifier), r.concealedSamples ?? 0, r.totalSamplesReceived ?? 0]);
      }
    }
    return seen;
  };
  const presented = els.map(() => []);
  let running = true;
  els.forEach((el, i) => {
    if (!el?.requestVideoFrameCallback) return;
    const each = (now) => { presented[i].push(now); if (running) el.requestVideoFrameCallback(each); };
    el.requestVideoFrameCallback(each);
  });
  const before = await sound();
  const start = performance.now();
  await new Promise(resolve => setTimeout(resolve, ms));
  running = false;
  const end = performance.now();
  const after = await sound();
  return els.map((el, i) => {
    let concealed = 0, total = 0;
    for (const [key, [who, c, t]] of after) {
      const was = before.get(key);
      if (who !== i || !was) continue;
      concealed += c - was[1];
      total += t - was[2];
    }
    return {frames: presented[i], start, end, width: el?.videoWidth ?? 0, concealed, total};
  });
}
"""


@dataclass(frozen=True)
class Seen:
    fps: float
    longest_gap_s: float
    freezes: int
    width: int  # of the last frame
    concealed: float | None  # share of the sound made up; None: no sound received

    @staticmethod
    def of(raw: dict) -> Seen:
        times = [raw["start"], *raw["frames"], raw["end"]]
        gaps = sorted((b - a) / 1000 for a, b in itertools.pairwise(times))
        usual = gaps[len(gaps) // 2] if gaps else 0.0
        inner = [(b - a) / 1000 for a, b in zip(raw["frames"], raw["frames"][1:], strict=False)]
        freezes = sum(g > max(3 * usual, usual + 0.150) for g in inner)
        seconds = (raw["end"] - raw["start"]) / 1000
        total = raw["total"]
        return Seen(fps=len(raw["frames"]) / seconds if seconds else 0.0,
                    longest_gap_s=gaps[-1] if gaps else seconds,
                    freezes=freezes, width=int(raw["width"]),
                    concealed=raw["concealed"] / total if total > 0 else None)


async def watch(person: Participant, seconds: float,
                which: tuple[str, ...] = ("remote-video", "avatar-video")) -> dict[str, Seen]:
    """What ``person`` saw and heard in each element of ``which`` over the next ``seconds``."""
    raw = await person.page.evaluate(_PROBE, [list(which), int(seconds * 1000)])
    return {name: Seen.of(r) for name, r in zip(which, raw, strict=True)}
