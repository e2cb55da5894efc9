"""Text to speech: a ``SpeechSynthesizer`` protocol and espeak-ng behind it.

Synthesis is a subprocess plus a resample, run off the event loop by the caller's executor.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SAMPLE_RATE = 48_000

VOICES = {"fr": "fr", "en": "en-us"}


@dataclass(frozen=True)
class Speech:
    """Mono float32 samples in [-1, 1] at 48 kHz."""

    samples: np.ndarray
    text: str

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


class SpeechSynthesizer(Protocol):
    def synthesize(self, text: str, language: str) -> Speech:
        """Blocking: call it from an executor."""
        ...


class SpeechError(RuntimeError):
    pass


def resample(samples: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Linear resampling; speech from espeak is band-limited well below either Nyquist."""
    if rate_in == rate_out or len(samples) == 0:
        return samples.astype(np.float32)
    n_out = int(round(len(samples) * rate_out / rate_in))
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


class EspeakSynthesizer:
    """espeak-ng from Debian's package: French and English, tens of milliseconds per sentence."""

    def __init__(self, binary: str | None = None, speed: int = 160) -> None:
        found = binary or shutil.which("espeak-ng")
        if found is None:
            raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng)")
        self.binary = found
        self.speed = speed

    def synthesize(self, text: str, language: str) -> Speech:
        voice = VOICES.get(language, "en-us")
        result = subprocess.run(
            [self.binary, "-v", voice, "-s", str(self.speed), "--stdout", "--", text],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0 or not result.stdout:
            raise SpeechError(f"espeak-ng failed: {result.stderr.decode(errors='replace')[:200]}")
        pcm, rate = wav_to_samples(result.stdout)
        return Speech(samples=resample(pcm, rate), text=text)
