"""Which layer each viewer's link carries, from what the viewer's browser reports over RTCP:
its estimate of the bandwidth it receives (REMB) and the share of packets its link lost (the
packets it asked again for, NACK, against those its receiver reports say were sent). The
call's own media keeps the browsers' congestion control; the avatar adapts by layer, never by
encoding per viewer.

- Down at once (after a second on a layer) when the estimate falls, and well under the layer's
  rate (60%: a browser's estimate follows what it receives, just under, and climbs slowly after
  a move up), or more than 10% of packets are lost (over 50 packets at least): the avatar must
  not starve the call on a poor link.
- Up by probing: after 10 s without trouble on a lower layer, and under 2% of packets lost
  (a link that loses more at random is a poor one), the next one up is tried; if it
  brings trouble within 4 s it is left again, and the next try waits twice as long (up to
  2 minutes); a probe that holds resets the wait. (A browser's estimate cannot show spare room
  above what it receives, so waiting for it would keep a recovered link low for ever.)

A viewer's new link (its page replaced one that failed or froze) starts on the layer its last
link ended on, not on the best: on a poor link the best layer's first second would fill the
queue the call shares, which is what made the old link fail. From there it probes up as above.

A picture loss the browser reports (PLI) asks its layer for a keyframe, at most once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiortc import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from avatarcall.avatar.layers import Layer

HOLD_S = 1.0  # on a layer before it may be left downwards
SHORT = 0.6  # an estimate under the layer's rate x this: the link cannot carry it
LOSS = 0.10
PROBE_LOSS = 0.02  # a link that loses more at random is no place to try a better layer
PROBE_FIRST_S = 10.0
PROBE_MAX_S = 120.0
PROBE_CHECK_S = 4.0
PLI_EVERY_S = 1.0
WINDOW_PACKETS = 50


class LayerChoice:
    """One viewer's layer (an index into ``layers``, best first), from its feedback."""

    def __init__(self, layers: tuple[Layer, ...], now: float, start: str | None = None) -> None:
        self.layers = layers
        self.index = [layer.name for layer in layers].index(start) if start else 0
        self._since = now  # on this layer
        self._trouble_at = float("-inf")
        self._wait = PROBE_FIRST_S
        self._probe_at: float | None = None  # when the current layer was tried upwards
        self._loss = 0.0  # recent share of packets lost (moving average of the reports)
        self._remb: float | None = None  # the last estimate

    @property
    def layer(self) -> Layer:
        return self.layers[self.index]

    def feedback(self, now: float, remb_bps: float | None = None,
                 loss: float | None = None) -> Layer | None:
        """The layer to move to now, if any."""
        if loss is not None:
            self._loss = 0.5 * self._loss + 0.5 * loss
        falling = False
        if remb_bps is not None:
            # Falling, not only low: after a move up the estimate climbs from the old rate.
            falling = (self._remb is not None and remb_bps < 0.95 * self._remb
                       and remb_bps < self.layer.bitrate * SHORT)
            self._remb = remb_bps
        trouble = falling or (loss is not None and loss > LOSS)
        if trouble:
            self._trouble_at = now
            if self.index + 1 < len(self.layers) and now - self._since >= HOLD_S:
                if self._probe_at is not None:  # the probe failed: wait longer next time
                    self._wait = min(PROBE_MAX_S, self._wait * 2)
                    self._probe_at = None
                return self._move(self.index + 1, now)
            return None
        if self._probe_at is not None and now - self._probe_at >= PROBE_CHECK_S:
            self._probe_at, self._wait = None, PROBE_FIRST_S  # it held
        if (self.index > 0 and now - self._since >= self._wait and self._loss < PROBE_LOSS
                and now - self._trouble_at >= PROBE_CHECK_S):
            self._probe_at = now
            return self._move(self.index - 1, now)
        return None

    def _move(self, index: int, now: float) -> Layer:
        self.index, self._since = index, now
        return self.layer


def follow(sender: RTCRtpSender, choice: LayerChoice, on_layer: Callable[[Layer], None],
           on_picture_loss: Callable[[], None]) -> None:
    """Feed ``choice`` from what ``sender``'s viewer reports. aiortc's sender handles RTCP by
    itself; its handler is wrapped (the stats it keeps hold the loss, but not REMB), and its
    keyframe request is taken over: a pre-encoded track has no encoder of its own to ask."""
    handle = sender._handle_rtcp_packet
    last_pli = [float("-inf")]
    missing: set[int] = set()  # packets the viewer asked again for (NACK) since its last report
    highest: list[int] = []  # the last report's highest sequence number
    window = [0, 0]  # packets lost, and sent, since the last judgement

    def tell(remb: float | None = None, loss: float | None = None) -> None:
        moved = choice.feedback(asyncio.get_running_loop().time(), remb, loss)
        if moved is not None:
            on_layer(moved)

    async def watched(packet: object) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            with contextlib.suppress(ValueError):
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                if sender._ssrc in ssrcs:
                    tell(remb=bitrate)
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            missing.update(packet.lost)
        elif isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc != sender._ssrc:
                    continue
                # What the link lost, before resending repaired it (the report's own share
                # counts only what was still missing when it was written), judged over 50
                # packets at least: a report of a handful says 0% or 20% on a link losing 1%.
                expected = report.highest_sequence - highest[0] if highest else 0
                highest[:] = [report.highest_sequence]
                window[0] += min(len(missing), max(expected, 0))
                window[1] += max(expected, 0)
                missing.clear()
                if window[1] >= WINDOW_PACKETS:
                    tell(loss=window[0] / window[1])
                    window[:] = [0, 0]
        await handle(packet)  # type: ignore[arg-type]

    def picture_lost() -> None:
        now = asyncio.get_running_loop().time()
        if now - last_pli[0] >= PLI_EVERY_S:
            last_pli[0] = now
            on_picture_loss()

    sender._handle_rtcp_packet = watched  # type: ignore[method-assign]
    sender._send_keyframe = picture_lost  # type: ignore[method-assign]
