"""The speech timeline of an avatar session: utterances placed on the session's sample clock.

Audio frames read their samples from it, and video frames read the mouth opening for the very
same instant, so lips and voice come from one clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatarcall.avatar.speech import SAMPLE_RATE, Speech

ENVELOPE_STEP = SAMPLE_RATE // 100  # one mouth value per 10 ms


def envelope(samples: np.ndarray) -> np.ndarray:
    """Mouth opening in [0, 1] per 10 ms from the loudness of the speech."""
    n = len(samples) // ENVELOPE_STEP
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    frames = samples[: n * ENVELOPE_STEP].reshape(n, ENVELOPE_STEP)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    peak = float(np.percentile(rms, 95)) or 1.0
    opening = np.clip(rms / peak, 0.0, 1.0)
    opening[opening < 0.08] = 0.0
    return opening.astype(np.float32)


@dataclass
class Utterance:
    start: int  # sample index on the session clock
    speech: Speech
    mouth: np.ndarray

    @property
    def end(self) -> int:
        return self.start + len(self.speech.samples)


class SpeechTimeline:
    """Utterances in order on one sample clock; reads are pure, the past is dropped."""

    def __init__(self) -> None:
        self._utterances: list[Utterance] = []

    def schedule(self, speech: Speech, not_before: int) -> Utterance:
        start = max([not_before] + [u.end for u in self._utterances])
        utterance = Utterance(start, speech, envelope(speech.samples))
        self._utterances.append(utterance)
        return utterance

    def clear(self, at: int) -> None:
        """Cut everything from sample ``at`` on (an interruption)."""
        kept = []
        for u in self._utterances:
            if u.start >= at:
                continue
            if u.end > at:
                cut = at - u.start
                u = Utterance(u.start, Speech(u.speech.samples[:cut], u.speech.text), u.mouth)
            kept.append(u)
        self._utterances = kept

    def read(self, start: int, count: int) -> np.ndarray:
        out = np.zeros(count, dtype=np.float32)
        for u in self._utterances:
            lo, hi = max(start, u.start), min(start + count, u.end)
            if lo < hi:
                out[lo - start : hi - start] = u.speech.samples[lo - u.start : hi - u.start]
        return out

    def mouth(self, at: int) -> float:
        for u in self._utterances:
            if u.start <= at < u.end:
                i = (at - u.start) // ENVELOPE_STEP
                return float(u.mouth[i]) if i < len(u.mouth) else 0.0
        return 0.0

    def speaking(self, at: int) -> bool:
        return any(u.start <= at < u.end for u in self._utterances)

    def drop_before(self, at: int) -> None:
        self._utterances = [u for u in self._utterances if u.end > at]

    @property
    def end(self) -> int:
        return max((u.end for u in self._utterances), default=0)
