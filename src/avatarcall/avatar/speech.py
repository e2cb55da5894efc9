"""Text to speech with lip-sync timing: a ``SpeechSynthesizer`` protocol and espeak-ng behind it.

Speech comes with its ``VisemeTimeline``. With libespeak-ng loaded in-process (``espeak.py``)
the visemes come from the synthesiser's own phoneme events; without it, the ``espeak-ng``
command speaks and the visemes are estimated from the audio. Either way text is spoken
sentence by sentence, so ``synthesize_stream`` hands the first sentence over while the rest
is still to come. Every call blocks: callers run it in an executor.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from avatarcall.avatar.espeak import EspeakLibrary, EspeakUnavailable, library
from avatarcall.avatar.lipsync import estimate_visemes, timeline_from_phonemes
from avatarcall.avatar.visemes import VisemeTimeline

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000

VOICES = {"fr": "fr", "en": "en-us"}


@dataclass(frozen=True)
class Speech:
    """Mono float32 samples in [-1, 1] at 48 kHz, and the mouth shapes that go with them
    (``None``: not known, the timeline estimates them from the audio)."""

    samples: np.ndarray
    text: str
    visemes: VisemeTimeline | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass(frozen=True)
class SpeechChunk:
    """One piece of streamed speech (a sentence or clause): 48 kHz float32 samples and its
    visemes, timed from the start of this chunk. ``final`` marks the last piece of the text."""

    samples: np.ndarray
    text: str
    visemes: VisemeTimeline
    index: int = 0
    final: bool = True

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def as_speech(self) -> Speech:
        return Speech(self.samples, self.text, self.visemes)


class SpeechSynthesizer(Protocol):
    def synthesize(self, text: str, language: str) -> Speech:
        """Blocking: call it from an executor."""
        ...

    def synthesize_stream(self, text: str, language: str) -> Iterator[SpeechChunk]:
        """Blocking between chunks: iterate it from an executor, one ``next`` per call."""
        ...


class SpeechError(RuntimeError):
    pass


def resample(samples: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Linear resampling; speech from espeak is band-limited well below either Nyquist."""
    if rate_in == rate_out or len(samples) == 0:
        return samples.astype(np.float32)
    n_out = round(len(samples) * rate_out / rate_in)
    x_out = np.arange(n_out, dtype=np.float64) * (rate_in / rate_out)
    return np.interp(x_out, np.arange(len(samples)), samples).astype(np.float32)


def wav_to_samples(data: bytes) -> tuple[np.ndarray, int]:
    """Decode 16-bit mono PCM WAV bytes (espeak-ng writes a WAV with an unknown length)."""
    with wave.open(io.BytesIO(data)) as wav:
        rate = wav.getframerate()
        if wav.getsampwidth() != 2:
            raise SpeechError("expected 16-bit PCM")
        channels = wav.getnchannels()
        # espeak-ng writes to a pipe, so its header's frame count is a placeholder: read to the end.
        raw = wav.readframes(2**31 - 1)
    pcm = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        pcm = pcm.reshape(-1, channels).mean(axis=1)
    return pcm, rate


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def split_sentences(text: str, max_chars: int = 200) -> list[str]:
    """Sentences of ``text``; one longer than ``max_chars`` is cut at its commas and colons."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        current = ""
        for clause in _CLAUSE_END.split(sentence):
            if current and len(current) + 1 + len(clause) > max_chars:
                pieces.append(current)
                current = clause
            else:
                current = f"{current} {clause}".strip()
        if current:
            pieces.append(current)
    return pieces


def join_chunks(chunks: Sequence[SpeechChunk], text: str) -> Speech:
    """One ``Speech`` from consecutive chunks (their visemes shifted to their offsets)."""
    if not chunks:
        return Speech(np.zeros(0, dtype=np.float32), text, VisemeTimeline())
    parts, offset = [], 0.0
    for chunk in chunks:
        parts.append((offset, chunk.visemes))
        offset += chunk.duration
    samples = np.concatenate([c.samples for c in chunks]).astype(np.float32)
    return Speech(samples, text, VisemeTimeline.concat(parts))


class EspeakSynthesizer:
    """espeak-ng from Debian's package: French and English, a few ms per sentence.

    Uses libespeak-ng in-process when it loads (phoneme-timed visemes), else the ``espeak-ng``
    command (visemes estimated from the audio). ``use_library=False`` forces the command.
    """

    def __init__(self, binary: str | None = None, speed: int = 160,
                 use_library: bool = True) -> None:
        self.speed = speed
        self._library: EspeakLibrary | None = None
        if use_library:
            try:
                self._library = library()
            except EspeakUnavailable:
                self._library = None
        found = binary or shutil.which("espeak-ng")
        if found is None and self._library is None:
            raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng)")
        self.binary = found

    @property
    def backend(self) -> str:
        """``library`` (phoneme-timed visemes) or ``command`` (visemes from the audio)."""
        return "library" if self._library is not None else "command"

    def synthesize(self, text: str, language: str) -> Speech:
        return join_chunks(list(self.synthesize_stream(text, language)), text)

    def synthesize_stream(self, text: str, language: str) -> Iterator[SpeechChunk]:
        sentences = split_sentences(text) or [text]
        for i, sentence in enumerate(sentences):
            samples, visemes = self._speak(sentence, language)
            yield SpeechChunk(samples, sentence, visemes, i, i == len(sentences) - 1)

    def _speak(self, text: str, language: str) -> tuple[np.ndarray, VisemeTimeline]:
        voice = VOICES.get(language, "en-us")
        if self._library is not None:
            result = self._library.synthesize(text, voice, self.speed)
            pcm = result.samples.astype(np.float32) / 32768.0
            samples = resample(pcm, result.rate)
            return samples, timeline_from_phonemes(result.phonemes, len(samples) / SAMPLE_RATE)
        samples = self._command(text, voice)
        return samples, estimate_visemes(samples, SAMPLE_RATE)

    def _command(self, text: str, voice: str) -> np.ndarray:
        if self.binary is None:
            raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng)")
        result = subprocess.run(
            [self.binary, "-v", voice, "-s", str(self.speed), "--stdout", "--", text],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0 or not result.stdout:
            raise SpeechError(f"espeak-ng failed: {result.stderr.decode(errors='replace')[:200]}")
        pcm, rate = wav_to_samples(result.stdout)
        return resample(pcm, rate)


class PiperSynthesizer:
    """Piper neural voices, used only when a voice model is configured.

    Needs the ``piper-tts`` package (imported on first use, not a dependency of avatarcall).
    Piper speaks sentence by sentence; its visemes are estimated from the audio.
    """

    def __init__(self, model_path: Path | str) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise SpeechError(f"no Piper voice model at {self.model_path}")
        self._voice: Any = None

    def _load(self) -> Any:
        if self._voice is None:
            try:
                from piper import PiperVoice  # type: ignore[import-not-found]
            except ImportError as exc:
                raise SpeechError("Piper voices need the piper-tts package") from exc
            self._voice = PiperVoice.load(str(self.model_path))
        return self._voice

    def synthesize(self, text: str, language: str) -> Speech:
        return join_chunks(list(self.synthesize_stream(text, language)), text)

    def synthesize_stream(self, text: str, language: str) -> Iterator[SpeechChunk]:
        voice = self._load()
        sentences = split_sentences(text) or [text]
        for i, sentence in enumerate(sentences):
            parts = []
            for piece in voice.synthesize(sentence):
                pcm = np.frombuffer(piece.audio_int16_bytes, dtype="<i2").astype(np.float32)
                parts.append(resample(pcm / 32768.0, int(piece.sample_rate)))
            samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
            yield SpeechChunk(samples, sentence, estimate_visemes(samples, SAMPLE_RATE), i,
                              i == len(sentences) - 1)
