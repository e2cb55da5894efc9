"""``Hearing``: what the customer says to the assistant, cut into turns.

The customer's microphone arrives on their avatar link (48 kHz); it is brought to 16 kHz and
read 30 ms at a time by a voice activity detector (WebRTC's, ``webrtcvad-wheels``). A turn
starts with speech and ends after ``END_SILENCE`` of silence; ``BARGE_IN`` of speech in a turn
says the customer is talking over the assistant (it stops at once). ``PAUSE`` of silence in a
turn is a ``Pause``: what was said so far may be recognised then, while the detector still waits
to be sure the turn is over; if no word came since, that is what the turn said. Pure and cheap:
recognition runs elsewhere (an executor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import webrtcvad

RATE = 16_000
FRAME = 480  # 30 ms at 16 kHz: a size the detector takes
FRAME_S = FRAME / RATE
BARGE_IN = 0.4  # seconds of speech that cut the assistant off
END_SILENCE = 0.5  # seconds of silence that end a turn
PAUSE = 0.15  # seconds of silence after which the speech so far may be recognised
MIN_SPEECH = 0.25  # a turn with less speech is a noise, not words
MAX_TURN = 15.0  # a turn longer than this is ended (and heard) anyway
PRE_ROLL = 0.3  # kept from before the first voiced frame (the start of a word)


@dataclass(frozen=True)
class BargeIn:
    """The customer has been speaking for ``BARGE_IN``: the assistant stops."""


@dataclass(frozen=True)
class Pause:
    """The customer paused: the turn so far (16 kHz mono int16) and its voiced frames."""

    pcm: np.ndarray
    spoken: int


@dataclass(frozen=True)
class Turn:
    """What the customer said, 16 kHz mono int16, ready to be recognised."""

    pcm: np.ndarray
    ended_at: float  # seconds of audio heard when the turn ended (the end of speech + silence)
    spoken: int = 0  # its voiced frames: a Pause with as many heard the same words

    @property
    def seconds(self) -> float:
        return len(self.pcm) / RATE


Heard = BargeIn | Pause | Turn


def _low_pass(taps: int = 63, cutoff: float = 7200 / 48_000) -> np.ndarray:
    """A windowed-sinc low-pass (Hamming) below 16 kHz's Nyquist frequency, for 48 kHz."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return (h / h.sum()).astype(np.float32)


LOW_PASS = _low_pass()


class To16k:
    """48 kHz float samples to 16 kHz int16, a stream at a time: low-pass filtered (the
    speech band the recogniser's model was made from is kept whole), then one sample in three."""

    def __init__(self) -> None:
        self._tail = np.zeros(len(LOW_PASS) - 1, dtype=np.float32)
        self._offset = 0  # samples seen so far

    def __call__(self, mono48k: np.ndarray) -> np.ndarray:
        signal = np.concatenate([self._tail, mono48k.astype(np.float32)])
        filtered = np.convolve(signal, LOW_PASS, mode="valid")  # one per new sample
        self._tail = signal[len(signal) - len(self._tail):]
        kept = filtered[(-self._offset) % 3::3]
        self._offset += len(mono48k)
        return (np.clip(kept, -1.0, 1.0) * 32767).astype(np.int16)


class Hearing:
    def __init__(self, aggressiveness: int = 2) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self._to_16k = To16k()
        self._pending = np.zeros(0, dtype=np.int16)  # less than a frame, for next time
        self._frames: list[np.ndarray] = []  # the turn so far (or the pre-roll)
        self._in_turn = False
        self._voiced = 0  # voiced frames in this turn
        self._silent = 0  # frames of silence since the last voiced one
        self._barged = False
        self._heard = 0  # frames heard in all

    def feed(self, mono48k: np.ndarray) -> list[Heard]:
        """More of the microphone (48 kHz float32); what it made happen."""
        samples = np.concatenate([self._pending, self._to_16k(mono48k)])
        usable = len(samples) - len(samples) % FRAME
        self._pending = samples[usable:]
        out: list[Heard] = []
        for start in range(0, usable, FRAME):
            out.extend(self._frame(samples[start:start + FRAME]))
        return out

    def _frame(self, frame: np.ndarray) -> list[Heard]:
        self._heard += 1
        voiced = self._vad.is_speech(frame.tobytes(), RATE)
        self._frames.append(frame)
        if not self._in_turn:
            if voiced:
                self._in_turn, self._voiced, self._silent, self._barged = True, 1, 0, False
            else:
                del self._frames[:-int(PRE_ROLL / FRAME_S)]
            return []
        out: list[Heard] = []
        if voiced:
            self._voiced += 1
            self._silent = 0
            if not self._barged and self._voiced * FRAME_S >= BARGE_IN:
                self._barged = True
                out.append(BargeIn())
        else:
            self._silent += 1
            if self._silent == round(PAUSE / FRAME_S) and self._voiced * FRAME_S >= MIN_SPEECH:
                out.append(Pause(np.concatenate(self._frames), spoken=self._voiced))
        long = len(self._frames) * FRAME_S >= MAX_TURN
        if self._silent * FRAME_S >= END_SILENCE or long:
            if self._voiced * FRAME_S >= MIN_SPEECH:
                out.append(Turn(np.concatenate(self._frames), ended_at=self._heard * FRAME_S,
                                spoken=self._voiced))
            self._frames, self._in_turn = [], False
        return out
