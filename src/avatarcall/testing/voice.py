"""A spoken WAV file, for Chromium's fake microphone (``--use-file-for-fake-audio-capture``)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from avatarcall.avatar.speech import SAMPLE_RATE, EspeakSynthesizer

AGENT_LINES = ("Hello, this is your agent speaking through the avatar. I can see your file now, "
               "and everything looks fine. Is there anything else I can do for you today?")


def write_voice_wav(path: Path, text: str = AGENT_LINES, language: str = "en",
                    pause: float = 0.5) -> Path:
    """``text`` spoken by espeak-ng, then ``pause`` seconds of silence (Chromium loops the
    file)."""
    speech = EspeakSynthesizer().synthesize(text, language)
    pcm = (np.clip(speech.samples, -1, 1) * 32767).astype("<i2")
    pause_pcm = np.zeros(int(SAMPLE_RATE * pause), dtype="<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(np.concatenate([pcm, pause_pcm]).tobytes())
    return path
