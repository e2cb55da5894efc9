"""The speech timeline of an avatar session: utterances placed on the session's sample clock.

Audio frames read their samples from it, and video frames read the mouth shapes (viseme
weights) and the overall opening for the very same instant, so lips and voice come from one
clock. Each utterance keeps its own viseme timeline: the synthesiser's when it has one, else
one estimated from the audio when the utterance is scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatarcall.avatar.lipsync import estimate_visemes
from avatarcall.avatar.speech import SAMPLE_RATE, Speech, SpeechChunk
from avatarcall.avatar.visemes import Viseme, VisemeTimeline, rest_weights

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
    visemes: VisemeTimeline

    @property
    def end(self) -> int:
        return self.start + len(self.speech.samples)


class SpeechTimeline:
    """Utterances in order on one sample clock; reads are pure, the past is dropped."""

    def __init__(self) -> None:
        self._utterances: list[Utterance] = []

    def schedule(self, speech: Speech | SpeechChunk, not_before: int) -> Utterance:
        """Place ``speech`` (or the next chunk of streamed speech) after everything scheduled,
        and not before sample ``not_before``."""
        if isinstance(speech, SpeechChunk):
            speech = speech.as_speech()
        start = max([not_before] + [u.end for u in self._utterances])
        visemes = speech.visemes
        if visemes is None:
            visemes = estimate_visemes(speech.samples, SAMPLE_RATE)
        utterance = Utterance(start, speech, envelope(speech.samples), visemes)
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
                visemes = u.visemes.cut(cut / SAMPLE_RATE)
                u = Utterance(u.start, Speech(u.speech.samples[:cut], u.speech.text, visemes),
                              u.mouth, visemes)
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

    def visemes_at(self, at: int) -> tuple[dict[Viseme, float], bool]:
        """Viseme weights at sample ``at`` and whether a stressed syllable is being spoken."""
        for u in self._utterances:
            if u.start <= at < u.end:
                t = (at - u.start) / SAMPLE_RATE
                return u.visemes.weights_at(t), u.visemes.stressed_at(t)
        return rest_weights(), False

    def speaking(self, at: int) -> bool:
        return any(u.start <= at < u.end for u in self._utterances)

    def drop_before(self, at: int) -> None:
        self._utterances = [u for u in self._utterances if u.end > at]

    @property
    def end(self) -> int:
        return max((u.end for u in self._utterances), default=0)
