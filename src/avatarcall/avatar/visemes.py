"""Visemes (the mouth shapes of speech) and timelines of them with smooth cross-fades.

The set is the classic one of 2D animation: ``rest``, lips pressed for M/B/P, slightly open,
open, wide open, a rounded O, pursed lips for U/W, the lower lip under the teeth for F/V and
the tongue behind the teeth for L/TH. A renderer takes a weight per viseme (they sum to 1) and
blends the shapes; a timeline turns timed phonemes into those weights at any instant.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Viseme(StrEnum):
    REST = "rest"  # relaxed, lips together, a slight smile
    CLOSED = "closed"  # lips pressed: M, B, P
    SLIGHT = "slight"  # slightly open, teeth showing: most consonants, i, schwa
    OPEN = "open"  # open: e, E, the vowel of "cup"
    WIDE = "wide"  # wide open: a, ah
    ROUND = "round"  # rounded O
    PURSED = "pursed"  # pursed U, W (and French u, y)
    FV = "fv"  # lower lip under the upper teeth
    LTH = "lth"  # tongue tip behind or between the teeth


VISEMES: tuple[Viseme, ...] = tuple(Viseme)
INDEX: dict[Viseme, int] = {v: i for i, v in enumerate(VISEMES)}

Weights = Mapping[Viseme, float]

# How open the jaw is for each shape, 0 shut .. 1 wide open: the old scalar ``mouth``.
OPENNESS: dict[Viseme, float] = {
    Viseme.REST: 0.0,
    Viseme.CLOSED: 0.0,
    Viseme.SLIGHT: 0.3,
    Viseme.OPEN: 0.65,
    Viseme.WIDE: 1.0,
    Viseme.ROUND: 0.6,
    Viseme.PURSED: 0.3,
    Viseme.FV: 0.15,
    Viseme.LTH: 0.45,
}
OPENNESS_VECTOR = np.array([OPENNESS[v] for v in VISEMES], dtype=np.float32)

FADE_SECONDS = 0.05  # cross-fade between neighbouring shapes (shorter for short segments)


def rest_weights() -> dict[Viseme, float]:
    return one_hot(Viseme.REST)


def one_hot(viseme: Viseme) -> dict[Viseme, float]:
    weights = dict.fromkeys(VISEMES, 0.0)
    weights[viseme] = 1.0
    return weights


def openness(weights: Weights) -> float:
    """The overall jaw opening of blended shapes, in [0, 1]."""
    return float(sum(OPENNESS[v] * w for v, w in weights.items()))


def from_openness(opening: float) -> dict[Viseme, float]:
    """Weights for a bare loudness-driven opening: rest -> slightly open -> open -> wide."""
    x = min(max(opening, 0.0), 1.0)
    weights = dict.fromkeys(VISEMES, 0.0)
    stops = ((0.0, Viseme.REST), (0.3, Viseme.SLIGHT), (0.65, Viseme.OPEN), (1.0, Viseme.WIDE))
    for (x0, v0), (x1, v1) in itertools.pairwise(stops):
        if x <= x1:
            f = (x - x0) / (x1 - x0)
            weights[v0] += 1.0 - f
            weights[v1] += f
            break
    return weights


def normalized(weights: Weights) -> dict[Viseme, float]:
    """All nine visemes, non-negative, summing to 1 (rest when everything is zero)."""
    out = {v: max(0.0, float(weights.get(v, 0.0))) for v in VISEMES}
    total = sum(out.values())
    if total <= 1e-9:
        return rest_weights()
    return {v: w / total for v, w in out.items()}


def dominant(weights: Weights) -> Viseme:
    return max(weights.items(), key=lambda item: item[1])[0]


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class VisemeEvent:
    """One mouth shape held from ``start`` to ``end`` seconds (``stressed``: in a stressed
    syllable)."""

    start: float
    end: float
    viseme: Viseme
    stressed: bool = False

    @property
    def duration(self) -> float:
        return self.end - self.start


class VisemeTimeline:
    """Viseme events in time order; gaps and the time outside them are ``rest``.

    ``weights_at(t)`` cross-fades each pair of neighbours over ``fade`` seconds centred on
    their boundary (less for short events, so even a brief closure of the lips shows).
    Immutable: the editing methods return new timelines.
    """

    def __init__(self, events: Iterable[VisemeEvent | tuple[float, float, Viseme, bool]] = (),
                 fade: float = FADE_SECONDS) -> None:
        items = [e if isinstance(e, VisemeEvent) else VisemeEvent(*e) for e in events]
        items = sorted((e for e in items if e.end > e.start), key=lambda e: e.start)
        self.fade = fade
        self.events: tuple[VisemeEvent, ...] = tuple(items)
        # Contiguous segments (gaps filled with rest, overlaps trimmed) for lookups.
        segments: list[VisemeEvent] = []
        cursor = items[0].start if items else 0.0
        for e in items:
            start = max(e.start, cursor)
            if start >= e.end:
                continue
            if start > cursor + 1e-9:
                segments.append(VisemeEvent(cursor, start, Viseme.REST))
            segments.append(VisemeEvent(start, e.end, e.viseme, e.stressed))
            cursor = e.end
        self._segments = segments
        self._starts = [s.start for s in segments]

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[VisemeEvent]:
        return iter(self.events)

    def __repr__(self) -> str:
        return f"VisemeTimeline({len(self.events)} events, {self.start:.3f}-{self.end:.3f} s)"

    @property
    def start(self) -> float:
        return self.events[0].start if self.events else 0.0

    @property
    def end(self) -> float:
        return self.events[-1].end if self.events else 0.0

    # --- lookups -------------------------------------------------------------------------

    def _segment(self, t: float) -> int:
        """Index of the segment holding ``t``: -1 before the first, len() after the last."""
        if not self._segments or t < self._segments[0].start:
            return -1
        i = bisect.bisect_right(self._starts, t) - 1
        return i if t < self._segments[i].end else len(self._segments)

    def _half_fade(self, left: VisemeEvent | None, right: VisemeEvent | None) -> float:
        h = self.fade / 2
        for seg in (left, right):
            if seg is not None:
                h = min(h, seg.duration / 2)
        return h

    def weights_at(self, t: float) -> dict[Viseme, float]:
        """Weights of all nine visemes at ``t`` seconds; they sum to 1."""
        weights = dict.fromkeys(VISEMES, 0.0)
        segs = self._segments
        i = self._segment(t)
        if i == -1 or i == len(segs):
            # Outside speech: rest, fading into the first or out of the last shape.
            weights[Viseme.REST] = 1.0
            if segs:
                edge = segs[0] if i == -1 else segs[-1]
                h = self._half_fade(edge, None)
                d = (edge.start - t) if i == -1 else (t - edge.end)
                if h > 0 and d < h:
                    w_edge = 1.0 - _smoothstep((d + h) / (2 * h))
                    weights[Viseme.REST] -= w_edge
                    weights[edge.viseme] += w_edge
            return weights
        seg = segs[i]
        prev = segs[i - 1] if i > 0 else None
        nxt = segs[i + 1] if i + 1 < len(segs) else None
        h_left = self._half_fade(prev, seg) if prev is not None else self._half_fade(seg, None)
        h_right = self._half_fade(seg, nxt) if nxt is not None else self._half_fade(seg, None)
        if h_left > 0 and t < seg.start + h_left:
            w = _smoothstep((t - seg.start + h_left) / (2 * h_left))
            weights[prev.viseme if prev is not None else Viseme.REST] += 1.0 - w
            weights[seg.viseme] += w
        elif h_right > 0 and t > seg.end - h_right:
            w = _smoothstep((t - seg.end + h_right) / (2 * h_right))
            weights[nxt.viseme if nxt is not None else Viseme.REST] += w
            weights[seg.viseme] += 1.0 - w
        else:
            weights[seg.viseme] = 1.0
        return weights

    def stressed_at(self, t: float) -> bool:
        i = self._segment(t)
        return 0 <= i < len(self._segments) and self._segments[i].stressed

    def viseme_at(self, t: float) -> Viseme:
        """The shape held at ``t`` (no cross-fade)."""
        i = self._segment(t)
        return self._segments[i].viseme if 0 <= i < len(self._segments) else Viseme.REST

    def matrix(self, step: float, count: int, start: float = 0.0) -> np.ndarray:
        """Weights sampled every ``step`` seconds: shape (count, 9), ``VISEMES`` order."""
        out = np.zeros((count, len(VISEMES)), dtype=np.float32)
        for k in range(count):
            for v, w in self.weights_at(start + k * step).items():
                out[k, INDEX[v]] = w
        return out

    # --- editing -------------------------------------------------------------------------

    def shifted(self, offset: float) -> VisemeTimeline:
        return VisemeTimeline(
            (VisemeEvent(e.start + offset, e.end + offset, e.viseme, e.stressed)
             for e in self.events),
            self.fade,
        )

    def cut(self, at: float) -> VisemeTimeline:
        """Everything before ``at`` seconds (an interrupted utterance)."""
        kept = [VisemeEvent(e.start, min(e.end, at), e.viseme, e.stressed)
                for e in self.events if e.start < at]
        return VisemeTimeline(kept, self.fade)

    @staticmethod
    def concat(parts: Sequence[tuple[float, VisemeTimeline]]) -> VisemeTimeline:
        """Timelines placed at the given offsets (seconds) into one."""
        events: list[VisemeEvent] = []
        fade = FADE_SECONDS
        for offset, timeline in parts:
            events.extend(timeline.shifted(offset).events)
            fade = timeline.fade
        return VisemeTimeline(events, fade)
