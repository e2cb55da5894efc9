"""Idle motion of the face: breathing, head sway, blinks at natural random intervals, gaze."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class FacePose:
    """Everything the renderer needs for one frame; values are small and unit-free."""

    mouth: float = 0.0  # 0 closed .. 1 wide open
    blink: float = 0.0  # 0 open .. 1 closed
    gaze_x: float = 0.0  # -1 .. 1
    gaze_y: float = 0.0
    head_x: float = 0.0  # pixels at 512
    head_y: float = 0.0
    tilt: float = 0.0  # degrees
    breathe: float = 0.0  # 0 .. 1
    brow: float = 0.0  # 0 .. 1 raised


class IdleMotion:
    """A pure function of time plus a seeded schedule of blinks and glances."""

    BLINK_SECONDS = 0.16

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._next_blink = 1.0 + self._rng.uniform(0.5, 3.0)
        self._blink_start = -10.0
        self._gaze = (0.0, 0.0)
        self._gaze_target = (0.0, 0.0)
        self._next_glance = 2.0
        self._mouth = 0.0

    def pose(self, t: float, mouth_target: float, speaking: bool) -> FacePose:
        if t >= self._next_blink:
            self._blink_start = t
            # People blink every 2-6 s, sometimes twice in a row.
            double = self._rng.random() < 0.15
            self._next_blink = t + (0.35 if double else self._rng.uniform(2.0, 6.0))
        phase = (t - self._blink_start) / self.BLINK_SECONDS
        blink = math.sin(math.pi * phase) if 0.0 <= phase <= 1.0 else 0.0

        if t >= self._next_glance:
            self._gaze_target = (self._rng.uniform(-0.6, 0.6), self._rng.uniform(-0.3, 0.3))
            if self._rng.random() < 0.5:
                self._gaze_target = (0.0, 0.0)
            self._next_glance = t + self._rng.uniform(1.5, 4.0)
        gx = self._gaze[0] + (self._gaze_target[0] - self._gaze[0]) * 0.25
        gy = self._gaze[1] + (self._gaze_target[1] - self._gaze[1]) * 0.25
        self._gaze = (gx, gy)

        # Open fast, close a little slower: lips look less jittery.
        rate = 0.7 if mouth_target > self._mouth else 0.45
        self._mouth += (mouth_target - self._mouth) * rate

        return FacePose(
            mouth=self._mouth,
            blink=blink,
            gaze_x=gx,
            gaze_y=gy,
            head_x=3.0 * math.sin(t * 0.7) + (1.5 * math.sin(t * 3.1) if speaking else 0.0),
            head_y=2.0 * math.sin(t * 0.9 + 1.0),
            tilt=1.5 * math.sin(t * 0.5) + (1.0 * math.sin(t * 2.3) if speaking else 0.0),
            breathe=0.5 + 0.5 * math.sin(t * 2 * math.pi / 4.0),
            brow=min(1.0, self._mouth * 0.8) if speaking else 0.0,
        )
