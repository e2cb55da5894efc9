"""The encoder's colour conversion: what swscale makes, from OpenCV's SIMD code."""

import av
import numpy as np
import pytest
from av.video.reformatter import VideoReformatter

from avatarcall.avatar.colour import I420Converter
from avatarcall.avatar.encoder import SharedVp8Encoder
from avatarcall.avatar.motion import IdleMotion
from avatarcall.avatar.renderer import make_renderer


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-9))


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return make_renderer("ava", 512).render(IdleMotion(seed=3).pose(1.2, speaking=True))


def swscale(rgba: np.ndarray, size: int) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(rgba, format="rgba")
    return VideoReformatter().reformat(frame, width=size, height=size, format="yuv420p",
                                       interpolation="BILINEAR").to_ndarray()


def test_luma_is_swscales_and_chroma_the_average_colour_of_each_block(picture) -> None:
    ours = I420Converter(512, 512).convert(picture).to_ndarray()
    theirs = swscale(picture, 512)
    assert ours.shape == theirs.shape == (768, 512)
    assert np.abs(ours[:512].astype(int) - theirs[:512]).max() <= 1  # rounding at most
    # The chroma of each 2 x 2 block's average colour, BT.601 limited range.
    rgb = picture[:, :, :3].astype(np.float64).reshape(256, 2, 256, 2, 3).mean(axis=(1, 3))
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    u = 128 + (-0.168736 * r - 0.331264 * g + 0.5 * b) * 224 / 255
    v = 128 + (0.5 * r - 0.418688 * g - 0.081312 * b) * 224 / 255
    flat = ours.reshape(-1)
    assert psnr(flat[512 * 512:512 * 512 + 256 * 256], u.reshape(-1)) > 55
    assert psnr(flat[512 * 512 + 256 * 256:], v.reshape(-1)) > 55
    assert psnr(ours[512:], theirs[512:]) > 45  # and close to swscale's own filter


def test_a_smaller_layer_is_scaled_down_and_an_odd_size_still_converts(picture) -> None:
    small = I420Converter(256, 256).convert(picture)
    assert (small.width, small.height) == (256, 256)
    assert psnr(small.to_ndarray()[:256], swscale(picture, 256)[:256]) > 35
    odd = I420Converter(255, 255).convert(picture)  # 4:2:0 cannot halve it: swscale does
    assert (odd.width, odd.height, odd.format.name) == (255, 255, "yuv420p")
    encoded = SharedVp8Encoder(255, 255, 100_000).encode(picture, 0, keyframe=True)
    assert encoded is not None and encoded.keyframe
