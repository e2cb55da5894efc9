"""Motion of the face: breathing, head sway, blinks at natural random intervals, gaze, and the
mouth shapes and eyebrows of speech."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from avatarcall.avatar.visemes import Viseme, from_openness, normalized, openness, rest_weights


@dataclass(frozen=True)
class FacePose:
    """Everything the renderer needs for one frame; values are small and unit-free."""

    mouth: float = 0.0  # 0 closed .. 1 wide open (the overall opening of ``visemes``)
    blink: float = 0.0  # 0 open .. 1 closed
    gaze_x: float = 0.0  # -1 .. 1
    gaze_y: float = 0.0
    head_x: float = 0.0  # pixels at 512
    head_y: float = 0.0
    tilt: float = 0.0  # degrees
    breathe: float = 0.0  # 0 .. 1
    brow: float = 0.0  # 0 .. 1 raised
    visemes: Mapping[Viseme, float] = field(default_factory=rest_weights)  # sum to 1
    stressed: bool = False  # a stressed syllable is being spoken
    turn: float = 0.0  # -1 (towards the viewer's left) .. 1, a slight turn of the head
    smile: float = 0.0  # 0 neutral .. 1 friendly smile at rest


class IdleMotion:
    """A function of time plus a seeded schedule of blinks and glances, and smoothed speech cues.

    ``pose(t, mouth, speaking)`` drives the mouth from a bare opening (the loudness envelope);
    ``pose(t, speaking=..., visemes=..., stressed=...)`` from viseme weights, with the eyebrows
    lifting and the head nodding a little on stressed syllables.
    """

    BLINK_SECONDS = 0.16

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._next_blink = 1.0 + self._rng.uniform(0.5, 3.0)
        self._blink_start = -10.0
        self._gaze = (0.0, 0.0)
        self._gaze_target = (0.0, 0.0)
        self._next_glance = 2.0
        self._mouth = 0.0
        self._brow = 0.0
        self._brow_until = -1.0
        self._last_lift = -10.0
        self._was_stressed = False
        self._next_flick = 6.0 + self._rng.uniform(0.0, 6.0)
        self._last_t: float | None = None
        self._smile = 1.0

    def pose(
        self,
        t: float,
        mouth_target: float | None = None,
        speaking: bool = False,
        visemes: Mapping[Viseme, float] | None = None,
        stressed: bool = False,
    ) -> FacePose:
        dt = 0.04 if self._last_t is None else min(max(t - self._last_t, 0.0), 0.5)
        self._last_t = t
        if t >= self._next_blink:
            self._blink_start = t
            # People blink every 2-6 s, sometimes twice in a row.
            double = self._rng.random() < 0.15
            self._next_blink = t + (0.35 if double else self._rng.uniform(2.0, 6.0))
        phase = (t - self._blink_start) / self.BLINK_SECONDS
        blink = math.sin(math.pi * phase) if 0.0 <= phase <= 1.0 else 0.0

        if t >= self._next_glance:
            # Speakers look at their listener most of the time; idle eyes wander more.
            self._gaze_target = (self._rng.uniform(-0.6, 0.6), self._rng.uniform(-0.3, 0.3))
            if self._rng.random() < (0.7 if speaking else 0.5):
                self._gaze_target = (0.0, 0.0)
            self._next_glance = t + self._rng.uniform(1.5, 4.0)
        gx = self._gaze[0] + (self._gaze_target[0] - self._gaze[0]) * 0.25
        gy = self._gaze[1] + (self._gaze_target[1] - self._gaze[1]) * 0.25
        self._gaze = (gx, gy)

        if visemes is not None:
            weights = normalized(visemes)
            self._mouth = openness(weights)
        else:
            target = mouth_target or 0.0
            # Open fast, close a little slower: lips look less jittery.
            rate = 0.7 if target > self._mouth else 0.45
            self._mouth += (target - self._mouth) * rate
            weights = from_openness(self._mouth)

        # Eyebrows: up on the onset of a stressed syllable, held briefly, eased back down;
        # now and then a friendly flick while listening.
        if stressed and not self._was_stressed and t - self._last_lift >= 0.6:
            # Not every stressed syllable: a brow that never rests looks startled.
            self._brow_until = t + 0.15
            self._last_lift = t
        self._was_stressed = stressed
        if not speaking and t >= self._next_flick:
            self._brow_until = t + 0.35
            self._next_flick = t + self._rng.uniform(7.0, 14.0)
        brow_target = 1.0 if t < self._brow_until else 0.0
        ease = 1.0 - math.exp(-dt / (0.06 if brow_target > self._brow else 0.18))
        self._brow += (brow_target - self._brow) * ease
        if visemes is None and speaking:
            self._brow = max(self._brow, min(1.0, self._mouth * 0.5))

        smile_target = 0.35 if speaking else 1.0
        self._smile += (smile_target - self._smile) * (1.0 - math.exp(-dt / 0.3))

        nod = 2.5 * self._brow if speaking else 0.0
        return FacePose(
            mouth=self._mouth,
            blink=blink,
            gaze_x=gx,
            gaze_y=gy,
            head_x=3.0 * math.sin(t * 0.7) + (1.5 * math.sin(t * 3.1) if speaking else 0.0),
            head_y=2.0 * math.sin(t * 0.9 + 1.0) + nod,
            tilt=1.5 * math.sin(t * 0.5) + (1.0 * math.sin(t * 2.3) if speaking else 0.0),
            breathe=0.5 + 0.5 * math.sin(t * 2 * math.pi / 4.0),
            brow=self._brow,
            visemes=weights,
            stressed=stressed,
            turn=0.35 * math.sin(t * 0.31) + 0.25 * gx,
            smile=self._smile,
        )
