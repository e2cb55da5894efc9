"""One VP8 and one Opus encoder per avatar session: a frame and its 20 ms of sound are encoded
once, the packets go to every viewer.

aiortc's sender packs a pre-encoded ``av.Packet`` without re-encoding, but its keyframe requests
(PLI) only reach an encoder it owns; this encoder therefore makes keyframes itself, when a viewer
joins or a viewer's queue overflows, and periodically.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from avatarcall.avatar.colour import I420Converter

VIDEO_TIME_BASE = Fraction(1, 90_000)
AUDIO_TIME_BASE = Fraction(1, 48_000)


@dataclass(frozen=True)
class EncodedFrame:
    packet: av.Packet
    keyframe: bool


class SharedVp8Encoder:
    """Blocking and CPU-bound; one caller at a time (the session's video loop)."""

    def __init__(self, width: int, height: int, bitrate: int, threads: int = 1) -> None:
        codec = av.CodecContext.create("libvpx", "w")
        codec.width = width
        codec.height = height
        codec.pix_fmt = "yuv420p"
        codec.bit_rate = bitrate
        codec.time_base = VIDEO_TIME_BASE
        codec.gop_size = 3000
        codec.qmin = 2
        codec.qmax = 56
        # aiortc's real-time, constant-bitrate tuning for its own VP8 encoder, but for drawn
        # content: no denoiser (there is no camera noise to remove; it costs ~15% of the encode
        # and blurs the lines) and blocks that did not change are skipped (static-thresh).
        # cpu-used 8 rather than aiortc's 6: 9% less encode time for 0.1 dB (measured on the
        # bench's frames, 2026-12-05: 1.77 against 1.94 ms, 50.9 against 51.0 dB); 12 loses
        # 1.5 dB, 16 loses 4. bench avatar prints the quality (PSNR) and cost of both.
        codec.options = {
            "bufsize": str(bitrate),
            "cpu-used": "-8",
            "deadline": "realtime",
            "lag-in-frames": "0",
            "minrate": str(bitrate),
            "maxrate": str(bitrate),
            "noise-sensitivity": "0",
            "overshoot-pct": "15",
            "partitions": "0",
            "static-thresh": "100",
            "undershoot-pct": "100",
        }
        codec.thread_count = threads
        self._codec = codec
        self._to_yuv = I420Converter(width, height)

    def encode(self, rgba: np.ndarray, pts: int, keyframe: bool) -> EncodedFrame | None:
        frame = self._to_yuv.convert(rgba)  # scaled down too for a smaller layer
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        packets = self._codec.encode(frame)
        if not packets:
            return None
        data = b"".join(bytes(p) for p in packets)
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = VIDEO_TIME_BASE
        return EncodedFrame(packet, keyframe or any(p.is_keyframe for p in packets))


class SharedOpusEncoder:
    """20 ms of 48 kHz mono sound in, one Opus packet out (the voice profile aiortc uses).

    The packet keeps the chunk's own timestamp (libopus would shift it by its look-ahead), so
    the sound and the frame that shows its mouth carry the same instant.
    """

    def __init__(self, bitrate: int = 24_000) -> None:
        codec = av.CodecContext.create("libopus", "w")
        codec.bit_rate = bitrate
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = 48_000
        codec.time_base = AUDIO_TIME_BASE
        # A synthetic or live voice is clear at 24 kbps; in-band FEC carries a copy of the
        # previous packet at a lower rate, so a single lost packet is not heard (a poor link
        # loses a few percent). Complexity 5 is what WebRTC's own encoder uses on phones (9 on
        # desktops): a third less CPU than libopus's 10, for one voice among many sessions.
        codec.options = {"application": "voip", "fec": "1", "packet_loss": "10",
                         "compression_level": "5"}
        self._codec = codec

    def encode(self, pcm: np.ndarray, pts: int) -> av.Packet | None:
        """``pcm``: int16 samples of one 20 ms chunk; ``pts``: its first sample's index."""
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48_000
        frame.pts = pts
        frame.time_base = AUDIO_TIME_BASE
        packets = self._codec.encode(frame)
        if not packets:
            return None
        packet = av.Packet(b"".join(bytes(p) for p in packets))
        packet.pts = pts
        packet.time_base = AUDIO_TIME_BASE
        return packet
