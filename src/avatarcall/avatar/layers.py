"""An avatar session's picture in a few encodings (layers), each viewer on the one its link
carries: the picture is drawn once, and each layer that somebody watches is encoded once,
whatever the number of viewers on it (no encoding per viewer).

``high`` is the session's size and bit rate (512 px, 800 kbps); ``low`` half the size at a
twentieth of the rate (256 px, 40 kbps: a drawn face compresses well), for a phone on a poor
link, where the call's own video and both voices share a few hundred kbps. A layer nobody
watches costs nothing; its encoder is made when first needed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from avatarcall.avatar.encoder import EncodedFrame, SharedVp8Encoder


@dataclass(frozen=True)
class Layer:
    name: str
    size: int  # px, square
    bitrate: int  # bps


HIGH, LOW = "high", "low"


def layers_for(size: int, bitrate: int) -> tuple[Layer, ...]:
    """Best first."""
    return (Layer(HIGH, size, bitrate), Layer(LOW, size // 2, max(32_000, bitrate // 20)))


class LayeredEncoder:
    """Blocking and CPU-bound; one caller at a time (the session's video loop)."""

    def __init__(self, layers: tuple[Layer, ...]) -> None:
        self.layers = {layer.name: layer for layer in layers}
        best = layers[0]
        self._encoders = {best.name: SharedVp8Encoder(best.size, best.size, best.bitrate)}

    def encode(self, rgba: np.ndarray, pts: int, watched: Collection[str],
               keyframes: Collection[str]) -> dict[str, EncodedFrame]:
        """``rgba`` in each of the ``watched`` layers (a keyframe in those of ``keyframes``)."""
        out = {}
        for name in watched:
            encoder = self._encoders.get(name)
            if encoder is None:  # first watched: its first frame is a keyframe anyway
                layer = self.layers[name]
                encoder = self._encoders[name] = SharedVp8Encoder(layer.size, layer.size,
                                                                  layer.bitrate)
            encoded = encoder.encode(rgba, pts, name in keyframes)
            if encoded is not None:
                out[name] = encoded
        return out
