"""Speech recognition behind one interface: what a turn of the customer's speech said.

``TranscriptionEndpoint`` sends each turn to an OpenAI-compatible endpoint (any language it
hears: French, say). ``Vosk`` hears a language from a model folder the operator supplies.
``ByLanguage`` puts several together. ``PocketSphinx`` (English) runs here with the acoustic
model and dictionary that ship in the ``pocketsphinx`` package, and a language model made at
start from what customers ask here (the FAQ's questions and the queue's own phrases) and
common English (``language_model``); of its best guesses at a turn it gives the one that
says what most of them mean to the assistant (``meaning``). Recognising is blocking CPU work: call
:meth:`transcribe` from an executor (several turns at once each get a decoder of their own). A
recognizer serves the languages it lists; for any other the pages offer text only.
"""

from __future__ import annotations

import collections
import io
import itertools
import json
import logging
import re
import tempfile
import threading
import wave
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from avatarcall.avatar import language_model

log = logging.getLogger(__name__)

# What people say about the queue itself (assistant/intents.py), for the language model.
QUEUE_PHRASES = (
    "how long is the wait", "how long do I still have to wait", "what is my place in the queue",
    "am I next", "I want to talk to a real person", "can I speak to an agent",
    "I want to leave a message", "can I leave a message", "yes", "no", "thank you", "hello",
)


GUESSES = 40  # pocketsphinx's best guesses at a turn, weighed by what they mean


class Recognizer(Protocol):
    languages: frozenset[str]

    def transcribe(self, pcm: np.ndarray, language: str) -> str:
        """16 kHz mono int16 speech to text (blocking)."""


class PocketSphinx:
    languages = frozenset({"en"})

    def __init__(self, sentences: Iterable[str],
                 meaning: Callable[[str], Hashable | None] | None = None) -> None:
        from pocketsphinx import Config, Decoder, get_model_path  # its model loads on use

        # The shipped dictionary, cut down to the words of the model: it loads in a blink.
        shipped = (Path(get_model_path()) / "en-us" / "cmudict-en-us.dict").read_text()
        pronounced: dict[str, list[str]] = {}
        for line in shipped.splitlines():
            pronounced.setdefault(line.split(" ", 1)[0].split("(", 1)[0], []).append(line)
        words = [[w for w in re.findall(r"[a-z']+", s.lower()) if w in pronounced]
                 for s in (*sentences, *QUEUE_PHRASES)]
        general = language_model.general_words(pronounced)
        vocabulary = sorted({w for s in words for w in s} | general.keys())
        self._files = tempfile.TemporaryDirectory(prefix="avatarcall-asr-")  # while decoders live
        lm, dic = Path(self._files.name) / "faq.arpa", Path(self._files.name) / "faq.dict"
        lm.write_text(language_model.arpa([s for s in words if s], general))
        dic.write_text("\n".join(line for w in vocabulary for line in pronounced[w]) + "\n")
        # Dither: digital silence (a muted or synthetic source) has no energy to take the log
        # of; a whisper of noise keeps the features sane (measured: bench conversation).
        self._config = lambda: Config(samprate=16000, lm=str(lm), dict=str(dic), dither=True,
                                      loglevel="ERROR")
        self._new = Decoder
        self._free = [Decoder(self._config())]  # a decoder hears one turn at a time
        self._lock = threading.Lock()  # over the free ones
        self._meaning = meaning
        log.info("speech recognition: pocketsphinx (en), %d sentences and %d common words in "
                 "its language model", len(words), len(general))

    def transcribe(self, pcm: np.ndarray, language: str) -> str:
        with self._lock:
            decoder = self._free.pop() if self._free else None
        decoder = decoder or self._new(self._config())
        try:
            decoder.start_utt()
            decoder.process_raw(pcm.astype(np.int16).tobytes(), full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            if hyp is None:
                return ""
            if self._meaning is None:
                return str(hyp.hypstr)
            guesses = [hyp.hypstr, *(g.hypstr for g in itertools.islice(decoder.nbest(), GUESSES))]
        finally:
            with self._lock:
                self._free.append(decoder)
        return likeliest(guesses, self._meaning)


def likeliest(guesses: list[str], meaning: Callable[[str], Hashable | None]) -> str:
    """The best-ranked of ``guesses`` (best first) among those meaning what most of them mean,
    each weighing by its rank (1, 1/2, 1/3...; meaning nothing is a meaning too). One misheard
    word often makes the best guess mean nothing, or something else, while most guesses near it
    agree (measured on bench conversation's turns: 105 -> 108 of 120 answered right, and 12 -> 4
    of 20 questions the FAQ has no answer for answered anyway, from the first understood guess)."""
    votes: collections.defaultdict[Hashable | None, float] = collections.defaultdict(float)
    first: dict[Hashable | None, str] = {}
    for rank, guess in enumerate(guesses):
        said = meaning(guess)
        votes[said] += 1 / (rank + 1)
        first.setdefault(said, guess)
    return str(first[max(votes, key=votes.__getitem__)]) if guesses else ""


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


class Vosk:
    """Vosk (Kaldi) with a model folder the operator supplies, for one language."""

    def __init__(self, language: str, folder: Path) -> None:
        try:
            import vosk
        except ImportError as exc:
            raise RuntimeError("vosk_models needs the vosk package: pip install "
                               "'avatarcall[vosk]'") from exc
        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(folder))
        except Exception as exc:  # vosk says only "Failed to create a model"
            raise ValueError(f"{folder} is no Vosk model folder ({exc})") from exc
        self._recognizer = vosk.KaldiRecognizer
        self.languages = frozenset({language})
        log.info("speech recognition: vosk (%s) from %s", language, folder)

    def transcribe(self, pcm: np.ndarray, language: str) -> str:
        recognizer = self._recognizer(self._model, 16_000)
        recognizer.AcceptWaveform(pcm.astype(np.int16).tobytes())
        return str(json.loads(recognizer.FinalResult()).get("text", ""))


class ByLanguage:
    """Each language heard by its own recognizer."""

    def __init__(self, recognizers: Iterable[Recognizer]) -> None:
        self._by: dict[str, Recognizer] = {}
        for recognizer in recognizers:  # a later one takes over a language from an earlier
            self._by.update(dict.fromkeys(recognizer.languages, recognizer))
        self.languages = frozenset(self._by)

    def transcribe(self, pcm: np.ndarray, language: str) -> str:
        return self._by[language].transcribe(pcm, language)


def wav_bytes(pcm: np.ndarray, rate: int = 16_000) -> bytes:
    """16-bit mono PCM as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.astype("<i2").tobytes())
    return out.getvalue()
