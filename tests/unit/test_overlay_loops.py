"""The overlay mode's loops: our character rendered by our renderer, periodic (the last frame
leads into the first with no jump), encoded once and then taken from the cache."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest

from avatarcall.avatar.loops import FPS, KINDS, SECONDS, OverlayLoops, loop_pose
from avatarcall.avatar.loops import frames as loop_frames
from avatarcall.avatar.renderer import make_renderer


@pytest.mark.parametrize("kind", KINDS)
def test_a_loop_ends_where_it_starts(kind) -> None:
    assert loop_pose(kind, 1.0) == pytest.approx(loop_pose(kind, 0.0)) or _close(
        loop_pose(kind, 1.0), loop_pose(kind, 0.0))


def _close(a, b) -> bool:
    fields = ("mouth", "blink", "gaze_x", "gaze_y", "head_x", "head_y", "tilt", "breathe", "brow",
              "turn", "smile")
    return all(abs(getattr(a, f) - getattr(b, f)) < 1e-9 for f in fields)


def test_only_the_talking_loop_moves_the_mouth() -> None:
    idle = [loop_pose("idle", i / 100).mouth for i in range(100)]
    talking = [loop_pose("talking", i / 100).mouth for i in range(100)]
    assert max(idle) == 0.0
    assert max(talking) > 0.5 and min(talking) == 0.0


async def test_loops_are_made_once_decodable_and_seamless(tmp_path: Path) -> None:
    made = []

    def renderer():
        made.append(1)
        return make_renderer("ava", 128)

    loops = OverlayLoops(tmp_path, renderer, identity={"character": "ava", "size": 128})
    first = await loops.path("talking")
    assert await loops.path("talking") == first and len(made) == 1  # from the cache
    with av.open(str(first)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    assert len(frames) == round(SECONDS["talking"] * FPS)
    assert frames[0].shape == (128, 128, 3)
    rendered = [f.astype(int) for f in loop_frames(make_renderer("ava", 128), "talking")]
    steps = [np.abs(b - a).mean() for a, b in pairwise(rendered)]
    wrap = np.abs(rendered[0] - rendered[-1]).mean()
    assert wrap <= max(steps)  # from the last frame to the first: an ordinary step
    other = OverlayLoops(tmp_path, renderer, identity={"character": "leo", "size": 128})
    assert other.file("talking") != first  # another character, other files
