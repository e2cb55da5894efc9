"""Lip sync: visemes from timed phonemes (TTS) or from the sound of a voice (live audio).

From TTS, espeak-ng's phoneme events become a ``VisemeTimeline``: each phoneme maps to a mouth
shape, stop consonants close the lips before their release, and the shapes lead the sound by
a few tens of milliseconds, as a speaker's lips do.

From a live voice there are no phonemes, only sound. ``LiveLipSync`` reads a few cheap
features per 10 ms hop (loudness against a running peak, the share of energy above 3.5 kHz,
the F2 region against the F1 region) and turns them into viseme weights: silence is rest or
closed lips, loudness opens the jaw, a dark spectrum (low F2) rounds or purses the lips, weak
hiss is F/V and loud hiss shows the teeth. ``estimate_visemes`` runs the same on a whole
recording and gives a timeline.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from avatarcall.avatar.espeak import PhonemeEvent
from avatarcall.avatar.visemes import (
    INDEX,
    OPENNESS_VECTOR,
    VISEMES,
    Viseme,
    VisemeEvent,
    VisemeTimeline,
)

# --- phonemes to visemes ----------------------------------------------------------------

# espeak-ng mnemonics of French and English (en-us, en-gb) voices. Names not listed fall back
# on their first character (see ``viseme_for``).
_GROUPS: tuple[tuple[str, Viseme], ...] = (
    ("p b m m- b# p# mb", Viseme.CLOSED),
    ("f v f# v# pf", Viseme.FV),
    ("T D l l/ l- l^ L @L l# dh th", Viseme.LTH),
    ("u u: U U@ U2 w y y: H W2 u# w#", Viseme.PURSED),
    ("o o: O O: O@ O2 o@ oU oU# OI 0 0# W W~ Y O~ o~ OI@ Y:", Viseme.ROUND),
    ("a a: a# a2 aa A A: A@ A~ a~ aI aI@ aI3 aU aU@ A#", Viseme.WIDE),
    ("e e: E E: E2 E3 E~ e~ e@ eI eI# 3 3: V @2 @5 @- W@", Viseme.OPEN),
    ("i i: I I# I2 i@ i@3 @ @# ; j", Viseme.SLIGHT),
    ("t d t# d# t2 d2 n n- N n^ k g k# g# s z s# z2 S Z tS dZ r r- R R2 x X ? h C",
     Viseme.SLIGHT),
)
_EXACT: dict[str, Viseme] = {name: viseme for names, viseme in _GROUPS for name in names.split()}

_STOPS = frozenset(
    ["p", "b", "t", "d", "k", "g", "p#", "b#", "t#", "d#", "t2", "d2", "k#", "g#", "tS", "dZ"])
_TRANSPARENT = frozenset({"h"})  # the lips already take the next vowel's shape

CLOSURE_SECONDS = 0.06  # lips meet this long before a stop's release (espeak times the release)
LEAD_SECONDS = 0.02  # visible articulation runs ahead of the sound


def is_pause(phoneme: str) -> bool:
    return not phoneme or phoneme.startswith("_")


def viseme_for(phoneme: str) -> Viseme:
    """The mouth shape of one espeak-ng phoneme mnemonic (stress marks are ignored)."""
    name = phoneme.lstrip("',%=")
    if is_pause(name):
        return Viseme.REST
    found = _EXACT.get(name)
    if found is not None:
        return found
    head = name[0]
    if head in "pbm":
        return Viseme.CLOSED
    if head in "fv":
        return Viseme.FV
    if head in "TDl":
        return Viseme.LTH
    if head in "uUwy":
        return Viseme.PURSED
    if head in "oO0":
        return Viseme.ROUND
    if head in "aA":
        return Viseme.WIDE
    if head in "eE3V":
        return Viseme.OPEN
    return Viseme.SLIGHT


def timeline_from_phonemes(phonemes: Sequence[PhonemeEvent], duration: float,
                           lead: float = LEAD_SECONDS) -> VisemeTimeline:
    """Visemes for phonemes timed from the start of audio lasting ``duration`` seconds."""
    rows: list[list] = []  # [start, end, viseme, stressed, phoneme]
    for i, p in enumerate(phonemes):
        end = phonemes[i + 1].at if i + 1 < len(phonemes) else duration
        end = min(end, duration)
        if end <= p.at:
            continue
        rows.append([p.at, end, viseme_for(p.phoneme), p.stressed, p.phoneme])
    # /h/ and the like borrow the shape of what follows.
    for i, row in enumerate(rows):
        if row[4] in _TRANSPARENT:
            nxt = next((r for r in rows[i + 1:] if r[4] not in _TRANSPARENT), None)
            row[2] = nxt[2] if nxt is not None and not is_pause(nxt[4]) else Viseme.SLIGHT
    # espeak places a stop at its release: move the closure before it, out of the previous sound.
    for prev, row in itertools.pairwise(rows):
        if row[4] in _STOPS and prev[1] == row[0]:
            take = min(CLOSURE_SECONDS, (prev[1] - prev[0]) * 0.5)
            prev[1] -= take
            row[0] -= take
    merged: list[list] = []
    for row in rows:
        if merged and merged[-1][2] == row[2] and abs(merged[-1][1] - row[0]) < 1e-6:
            merged[-1][1] = row[1]
            merged[-1][3] = merged[-1][3] or row[3]
        else:
            merged.append(row)
    events = [VisemeEvent(max(0.0, s - lead), max(0.0, e - lead), v, st)
              for s, e, v, st, _ in merged if v is not Viseme.REST]
    return VisemeTimeline(events)


# --- visemes from sound -----------------------------------------------------------------

HOP_SECONDS = 0.01
WINDOW_SECONDS = 0.02
SILENCE_RMS = 0.003  # about -50 dBFS: below this nobody is speaking
# A live voice is heard against the last 3 s of its sound: its loud level is their 95th
# percentile, so that a cough or a knock on the desk (a few hops) does not shut the mouth for
# seconds after it, and is forgotten slowly through a pause (halved in 3.5 s); the room's noise
# is their 10th percentile (between words), and sound not well above it is no speech.
LEVELS_SECONDS = 3.0
LOUD_PERCENTILE = 95
NOISE_PERCENTILE = 10
LEVELS_EVERY_HOPS = 10
PEAK_KEPT_PER_HOP = 0.998
ABOVE_NOISE = 2.5
_COLUMNS = {v: INDEX[v] for v in VISEMES}


@dataclass
class _Bands:
    low: np.ndarray  # bin mask 80-1000 Hz (F1)
    mid: np.ndarray  # 1000-3000 Hz (F2)
    high: np.ndarray  # 3500-8000 Hz (fricative noise)
    total: np.ndarray  # 80-8000 Hz


def _bands(window: int, rate: int) -> _Bands:
    f = np.fft.rfftfreq(window, 1.0 / rate)
    hi = min(8000.0, rate / 2)
    return _Bands((f >= 80) & (f < 1000), (f >= 1000) & (f < 3000),
                  (f >= 3500) & (f < hi), (f >= 80) & (f < hi))


def _features(frames: np.ndarray, bands: _Bands, taper: np.ndarray) -> tuple[np.ndarray, ...]:
    """RMS, F2/F1 band ratio and high-frequency share of each row of ``frames``."""
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    spectrum = np.abs(np.fft.rfft(frames * taper, axis=1)) ** 2
    low = spectrum[:, bands.low].sum(axis=1) + 1e-12
    mid = spectrum[:, bands.mid].sum(axis=1)
    high = spectrum[:, bands.high].sum(axis=1)
    total = spectrum[:, bands.total].sum(axis=1) + 1e-12
    return rms, mid / low, high / total


def _classify(level: np.ndarray, f2_ratio: np.ndarray, hiss: np.ndarray,
              silent: np.ndarray, after_speech: np.ndarray) -> np.ndarray:
    """Viseme weights (n, 9) from features; ``level`` is loudness relative to the voice's peak."""
    n = len(level)
    w = np.zeros((n, len(VISEMES)), dtype=np.float32)
    col = _COLUMNS
    # Hiss: loud is s/sh/th (teeth show), faint is f/v.
    fric = np.clip((hiss - 0.3) / 0.3, 0.0, 1.0) * (level < 0.5)
    faint = np.clip((0.2 - level) / 0.12, 0.0, 1.0)
    w[:, col[Viseme.FV]] += fric * faint
    w[:, col[Viseme.SLIGHT]] += fric * (1.0 - faint)
    voiced = 1.0 - fric
    # Jaw opening from loudness; rounding from a dark spectrum (low F2) in vowels.
    opening = np.clip((level - 0.12) / 0.65, 0.0, 1.0)
    vowel = np.clip((level - 0.3) / 0.15, 0.0, 1.0)
    rounded = np.clip((0.16 - f2_ratio) / 0.12, 0.0, 1.0) * vowel
    spread = voiced * (1.0 - rounded)
    # Spread shapes: slightly open -> open -> wide with the opening.
    x = opening
    w[:, col[Viseme.SLIGHT]] += spread * np.clip(1.0 - np.abs(x - 0.2) / 0.35, 0.0, 1.0)
    w[:, col[Viseme.OPEN]] += spread * np.clip(1.0 - np.abs(x - 0.6) / 0.3, 0.0, 1.0)
    w[:, col[Viseme.WIDE]] += spread * np.clip((x - 0.6) / 0.3, 0.0, 1.0)
    # Quiet voicing (nasals, voiced closures): lips nearly together.
    w[:, col[Viseme.CLOSED]] += spread * np.clip(1.0 - x / 0.2, 0.0, 1.0) * 0.6
    # Rounded: an open O when loud, pursed U/W when less so.
    big = np.clip((opening - 0.45) / 0.3, 0.0, 1.0)
    w[:, col[Viseme.ROUND]] += voiced * rounded * big
    w[:, col[Viseme.PURSED]] += voiced * rounded * (1.0 - big)
    # Silence: closed lips between sounds of speech, rest otherwise.
    keep = ~silent
    w *= keep[:, None]
    w[:, col[Viseme.CLOSED]] += silent * after_speech
    w[:, col[Viseme.REST]] += silent * ~after_speech
    total = w.sum(axis=1, keepdims=True)
    empty = total[:, 0] < 1e-6
    w[empty, col[Viseme.REST]] = 1.0
    total[empty] = 1.0
    return w / total


def estimate_weights(samples: np.ndarray, rate: int, step: float = HOP_SECONDS) -> np.ndarray:
    """Viseme weights every ``step`` seconds of a recording: shape (n, 9), ``VISEMES`` columns.

    Row k describes the audio around ``k * step``; loudness is relative to the recording's
    own loud parts (its 95th percentile), as with a whole utterance at hand.
    """
    x = np.asarray(samples)
    x = x.astype(np.float32) / 32768.0 if x.dtype.kind == "i" else x.astype(np.float32)
    hop = max(1, round(step * rate))
    window = max(hop, round(WINDOW_SECONDS * rate))
    n = len(x) // hop
    if n == 0:
        return np.zeros((0, len(VISEMES)), dtype=np.float32)
    padded = np.concatenate([np.zeros(window // 2, np.float32), x, np.zeros(window, np.float32)])
    idx = np.arange(n)[:, None] * hop + np.arange(window)[None, :]
    frames = padded[idx]
    rms, f2_ratio, hiss = _features(frames, _bands(window, rate), np.hanning(window))
    loud = rms[rms > SILENCE_RMS]
    peak = float(np.percentile(loud, 95)) if len(loud) else 1.0
    level = rms / max(peak, 1e-4)
    silent = (rms < SILENCE_RMS) | (level < 0.06)
    # "Between sounds of speech": speech within the last 150 ms (a pause for a stop or breath).
    recent = round(0.15 / step)
    spoke = (~silent).astype(np.int32)
    cum = np.concatenate([[0], np.cumsum(spoke)])
    lo = np.maximum(np.arange(n) - recent, 0)
    after = (cum[np.arange(n)] - cum[lo]) > 0
    return _classify(level, f2_ratio, hiss, silent, after)


def openness_of(weights: np.ndarray) -> np.ndarray:
    """Jaw opening per row of a weight matrix (n, 9)."""
    return weights @ OPENNESS_VECTOR


def estimate_visemes(samples: np.ndarray, rate: int, step: float = HOP_SECONDS,
                     min_seconds: float = 0.04) -> VisemeTimeline:
    """A viseme timeline for recorded speech with no transcript (the dominant shape per hop,
    runs shorter than ``min_seconds`` merged into a neighbour, stressed where loudest)."""
    weights = estimate_weights(samples, rate, step)
    if len(weights) == 0:
        return VisemeTimeline()
    best = weights.argmax(axis=1)
    opening = openness_of(weights)
    runs: list[list] = []  # [first hop, end hop, viseme index]
    for k, v in enumerate(best):
        if runs and runs[-1][2] == v:
            runs[-1][1] = k + 1
        else:
            runs.append([k, k + 1, int(v)])
    min_hops = max(1, round(min_seconds / step))
    changed = True
    while changed and len(runs) > 1:
        changed = False
        for i, run in enumerate(runs):
            if run[1] - run[0] < min_hops:
                j = i - 1 if i > 0 else i + 1
                if i + 1 < len(runs) and i > 0 and (runs[i + 1][1] - runs[i + 1][0]) > (
                        runs[i - 1][1] - runs[i - 1][0]):
                    j = i + 1
                other = runs[j]
                other[0], other[1] = min(other[0], run[0]), max(other[1], run[1])
                del runs[i]
                changed = True
                break
        # neighbours that now hold the same shape become one run
        fused: list[list] = []
        for run in runs:
            if fused and fused[-1][2] == run[2]:
                fused[-1][1] = run[1]
            else:
                fused.append(run)
        runs = fused
    peak = float(opening.max()) or 1.0
    events = []
    for first, end, v in runs:
        viseme = VISEMES[v]
        if viseme is Viseme.REST:
            continue
        stressed = (end - first) * step >= 0.08 and float(opening[first:end].max()) >= 0.85 * peak
        events.append(VisemeEvent(first * step, end * step, viseme, stressed))
    return VisemeTimeline(events)


class LiveLipSync:
    """Viseme weights from a live voice, fed frames as they arrive (e.g. 20 ms at 48 kHz).

    Each ``push`` costs one small FFT per 10 ms of audio. Loudness is measured against the
    voice's loud level of the last few seconds (a high percentile, not the loudest instant),
    so the mouth adapts to a quiet or loud microphone and a bang does not close it; the
    weights are smoothed (fast to open, slower to close) so the lips do not flicker.
    """

    def __init__(self, rate: int = 48_000, attack: float = 0.6, release: float = 0.3) -> None:
        self.rate = rate
        self._hop = round(HOP_SECONDS * rate)
        self._window = round(WINDOW_SECONDS * rate)
        self._bands = _bands(self._window, rate)
        self._taper = np.hanning(self._window).astype(np.float32)
        self._attack = attack
        self._release = release
        self.reset()

    def reset(self) -> None:
        """Forget the voice heard so far (a new speaker, or after a long pause)."""
        self._buffer = np.zeros(self._window, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._peak = 0.05
        self._levels = np.zeros(round(LEVELS_SECONDS / HOP_SECONDS), dtype=np.float32)
        self._hops = 0  # heard so far (the ring above holds the latest)
        self._loud = self._noise = 0.0
        self._since_speech = 1.0  # seconds since the last speech hop
        self._weights = np.zeros(len(VISEMES), dtype=np.float32)
        self._weights[INDEX[Viseme.REST]] = 1.0
        self._stressed = False

    @property
    def weights(self) -> dict[Viseme, float]:
        return {v: float(self._weights[i]) for i, v in enumerate(VISEMES)}

    @property
    def stressed(self) -> bool:
        """Whether the latest hop was a loud peak of the voice (for the eyebrows)."""
        return self._stressed

    def push(self, frame: np.ndarray) -> dict[Viseme, float]:
        """Feed the next samples (float in [-1, 1] or int16); return the current weights."""
        x = np.asarray(frame)
        x = x.astype(np.float32) / 32768.0 if x.dtype.kind == "i" else x.astype(np.float32)
        data = np.concatenate([self._pending, x.reshape(-1)])
        hops = len(data) // self._hop
        for k in range(hops):
            self._step(data[k * self._hop : (k + 1) * self._hop])
        self._pending = data[hops * self._hop :]
        return self.weights

    def _step(self, hop: np.ndarray) -> None:
        buf = self._buffer
        buf[: -len(hop)] = buf[len(hop):]
        buf[-len(hop):] = hop
        rms, f2_ratio, hiss = _features(buf[None, :], self._bands, self._taper)
        r = float(rms[0])
        self._levels[self._hops % len(self._levels)] = r
        self._hops += 1
        if self._hops <= LEVELS_EVERY_HOPS or self._hops % LEVELS_EVERY_HOPS == 0:
            heard = self._levels[:min(self._hops, len(self._levels))]
            self._noise, self._loud = (float(v) for v in np.percentile(
                heard, [NOISE_PERCENTILE, LOUD_PERCENTILE]))
        self._peak = max(self._loud, self._peak * PEAK_KEPT_PER_HOP, 0.01)
        level = r / self._peak
        # (never more than a fifth of the loud level: a voice with no pause for 3 s is no noise)
        noise = min(ABOVE_NOISE * self._noise, 0.2 * self._peak)
        silent = r < max(SILENCE_RMS, noise) or level < 0.06
        self._since_speech = self._since_speech + HOP_SECONDS if silent else 0.0
        after = np.array([silent and self._since_speech <= 0.15])
        target = _classify(np.array([level]), f2_ratio, hiss, np.array([silent]), after)[0]
        target_open = float(target @ OPENNESS_VECTOR)
        current_open = float(self._weights @ OPENNESS_VECTOR)
        rate = self._attack if target_open >= current_open else self._release
        self._weights += (target - self._weights) * rate
        self._weights /= float(self._weights.sum()) or 1.0
        self._stressed = level > 0.85 and not silent
