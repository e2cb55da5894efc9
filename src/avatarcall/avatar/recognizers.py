"""Speech recognition behind one interface: what a turn of the customer's speech said.

``TranscriptionEndpoint`` sends each turn to an OpenAI-compatible endpoint (any language it
hears: French, say). ``PocketSphinx`` (English) runs here with the acoustic model and dictionary that ship in the
``pocketsphinx`` package, and a language model made at start from what customers ask here (the
FAQ's questions and the queue's own phrases): a small bigram model, so recognition is both
quicker and closer to the questions that have answers. Recognising is blocking CPU work: call
:meth:`transcribe` from an executor. A recognizer serves the languages it lists; for any other
the pages offer text only.
"""

from __future__ import annotations

import collections
import io
import itertools
import logging
import math
import re
import tempfile
import threading
import wave
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

# What people say about the queue itself (assistant/intents.py), for the language model.
QUEUE_PHRASES = (
    "how long is the wait", "how long do I still have to wait", "what is my place in the queue",
    "am I next", "I want to talk to a real person", "can I speak to an agent",
    "I want to leave a message", "can I leave a message", "yes", "no", "thank you", "hello",
)


class Recognizer(Protocol):
    languages: frozenset[str]

    def transcribe(self, pcm: np.ndarray, language: str) -> str:
        """16 kHz mono int16 speech to text (blocking)."""


class PocketSphinx:
    languages = frozenset({"en"})

    def __init__(self, sentences: Iterable[str]) -> None:
        from pocketsphinx import Config, Decoder, get_model_path  # its model loads on use

        # The shipped dictionary, cut down to the words of the model: it loads in a blink.
        shipped = (Path(get_model_path()) / "en-us" / "cmudict-en-us.dict").read_text()
        pronounced: dict[str, list[str]] = {}
        for line in shipped.splitlines():
            pronounced.setdefault(line.split(" ", 1)[0].split("(", 1)[0], []).append(line)
        words = [[w for w in re.findall(r"[a-z']+", s.lower()) if w in pronounced]
                 for s in (*sentences, *QUEUE_PHRASES)]
        vocabulary = sorted({w for s in words for w in s})
        with tempfile.TemporaryDirectory(prefix="avatarcall-asr-") as folder:
            lm, dic = Path(folder) / "faq.arpa", Path(folder) / "faq.dict"
            lm.write_text(bigram_arpa([s for s in words if s]))
            dic.write_text("\n".join(line for w in vocabulary for line in pronounced[w]) + "\n")
            # Dither: digital silence (a muted or synthetic source) has no energy to take the
            # log of; a whisper of noise keeps the features sane (measured: bench conversation).
            self._decoder = Decoder(Config(samprate=16000, lm=str(lm), dict=str(dic),
                                           dither=True, loglevel="ERROR"))
        self._lock = threading.Lock()  # one decoder: one turn at a time
        log.info("speech recognition: pocketsphinx (en), %d sentences in its language model",
                 len(words))

    def transcribe(self, pcm: np.ndarray, language: str) -> str:
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm.astype(np.int16).tobytes(), full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def bigram_arpa(sentences: list[list[str]]) -> str:
    """An ARPA bigram model of ``sentences`` (add-half unigrams, a fixed back-off)."""
    uni: collections.Counter[str] = collections.Counter()
    bi: collections.Counter[tuple[str, str]] = collections.Counter()
    for words in sentences:
        tokens = ["<s>", *words, "</s>"]
        uni.update(tokens)
        bi.update(itertools.pairwise(tokens))
    total, size = sum(uni.values()), len(uni)
    lines = ["\\data\\", f"ngram 1={size}", f"ngram 2={len(bi)}", "", "\\1-grams:"]
    lines += [f"{math.log10((c + 0.5) / (total + 0.5 * size)):.4f} {w} {math.log10(0.3):.4f}"
              for w, c in uni.items()]
    lines += ["", "\\2-grams:"]
    lines += [f"{math.log10(0.7 * c / uni[a]):.4f} {a} {b}" for (a, b), c in bi.items()]
    return "\n".join([*lines, "", "\\end\\", ""])


class TranscriptionEndpoint:
    """An OpenAI-compatible transcription endpoint (``POST {url}/audio/transcriptions``: a WAV
    file, the model and the language; ``{"text": ...}`` back): a hosted one, or a local
    Whisper server. It hears the languages the operator lists. A turn it cannot transcribe is
    lost (logged); the customer can still type."""

    def __init__(self, url: str, model: str, api_key: str | None = None,
                 languages: Iterable[str] = ("en", "fr"), timeout: float = 5.0) -> None:
        import httpx  # only this backend talks HTTP

        self.url = url.rstrip("/") + "/audio/transcriptions"
        self.model = model
        self.languages = frozenset(languages)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self._errors = (httpx.HTTPError, ValueError, KeyError, TypeError)

    def transcribe(self, pcm: np.ndarray, language: str) -> str:
        try:
            response = self._client.post(
                self.url, files={"file": ("turn.wav", wav_bytes(pcm), "audio/wav")},
                data={"model": self.model, "language": language, "response_format": "json"})
            response.raise_for_status()
            return str(response.json()["text"]).strip()
        except self._errors as exc:
            log.warning("transcription endpoint failed: %s", exc)
            return ""


def wav_bytes(pcm: np.ndarray, rate: int = 16_000) -> bytes:
    """16-bit mono PCM as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.astype("<i2").tobytes())
    return out.getvalue()
