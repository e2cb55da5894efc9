"""A small ctypes binding of the system's libespeak-ng (1.51): audio plus timed phoneme events.

Only what lip sync needs: synchronous synthesis into a callback that receives 16-bit audio
buffers and ``espeak_EVENT`` lists, with phoneme events enabled; and ``espeak_TextToPhonemes``
for the stress marks that phoneme events do not carry. The structure layout follows
``/usr/include/espeak-ng/speak_lib.h`` (API revision 12).

The library keeps global state and is not thread-safe: every call goes through one module
lock. Calls block; the avatar runs them in an executor.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

LIBRARY_NAMES = ("libespeak-ng.so.1", "libespeak-ng.so")

# speak_lib.h: espeak_AUDIO_OUTPUT, espeak_EVENT_TYPE, espeak_PARAMETER, flags.
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_SENTENCE = 2
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
EVENT_PHONEME = 7
EVENT_SAMPLERATE = 8
PARAM_RATE = 1
PARAM_PITCH = 3
CHARS_UTF8 = 1
ENDPAUSE = 0x1000
POS_CHARACTER = 1
EE_OK = 0

BUFFER_MS = 100  # audio arrives in buffers of this length


class _EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),  # WORD and SENTENCE events
        ("name", ctypes.c_char_p),  # MARK and PLAY events
        ("string", ctypes.c_char * 8),  # PHONEME events: the mnemonic (NUL-terminated if < 8)
    ]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms from the start of this synthesis
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class EspeakUnavailable(RuntimeError):
    """libespeak-ng could not be loaded or initialised; use the command-line fallback."""


@dataclass(frozen=True)
class PhonemeEvent:
    """A phoneme starting ``at`` seconds into the synthesised audio."""

    phoneme: str  # espeak mnemonic, e.g. "oU", "O~", "_:" (a pause)
    at: float
    stressed: bool = False
    word: int = 0  # 1-based word number in the text, 0 before the first word


@dataclass
class Synthesis:
    """What one ``synthesize`` call produced: int16 mono audio and its timed phonemes."""

    samples: np.ndarray
    rate: int
    phonemes: list[PhonemeEvent] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


class EspeakLibrary:
    """The loaded library; one per process (see ``library()``), all calls under ``_LOCK``."""

    def __init__(self, name: str | None = None) -> None:
        lib = None
        names = (name,) if name else (*LIBRARY_NAMES, ctypes.util.find_library("espeak-ng"))
        for candidate in names:
            if not candidate:
                continue
            try:
                lib = ctypes.CDLL(candidate)
                break
            except OSError:
                continue
        if lib is None:
            raise EspeakUnavailable("libespeak-ng is not installed (apt-get install espeak-ng)")
        self._lib = lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                              ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        with _LOCK:
            rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, None,
                                         INITIALIZE_PHONEME_EVENTS)
            if rate <= 0:
                raise EspeakUnavailable("espeak_Initialize failed (is espeak-ng-data installed?)")
            self.sample_rate = rate
            # Keep a reference: the library holds a raw pointer to this trampoline.
            self._callback = _SynthCallback(self._on_synth)
            lib.espeak_SetSynthCallback(self._callback)
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int, int]] = []
        self._word = 0
        self._voice: str | None = None

    # --- the callback (runs inside espeak_Synth, on the calling thread, under the lock) ---

    def _on_synth(self, wav: Any, count: int, events: Any) -> int:
        try:
            if wav and count > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            i = 0
            while True:
                event = events[i]
                kind = event.type
                if kind == EVENT_LIST_TERMINATED:
                    break
                if kind == EVENT_WORD:
                    self._word = event.id.number
                elif kind == EVENT_PHONEME:
                    name = bytes(event.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                    self._events.append((name, event.audio_position, self._word))
                i += 1
            return 0
        except Exception:  # an exception must not unwind through C: abort the synthesis
            log.exception("espeak callback failed")
            return 1

    # --- calls ---------------------------------------------------------------------------

    def _select(self, voice: str, rate_wpm: int) -> None:
        if voice != self._voice:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                raise EspeakUnavailable(f"espeak-ng has no voice {voice!r}")
            self._voice = voice
        self._lib.espeak_SetParameter(PARAM_RATE, int(rate_wpm), 0)

    def synthesize(self, text: str, voice: str, rate_wpm: int = 160) -> Synthesis:
        """Speak ``text`` (UTF-8, plain) with ``voice``; blocking, tens of ms per sentence."""
        data = text.encode("utf-8") + b"\0"
        with _LOCK:
            self._select(voice, rate_wpm)
            stresses = self._stress_marks(text)
            self._chunks, self._events, self._word = [], [], 0
            buf = ctypes.create_string_buffer(data, len(data))
            result = self._lib.espeak_Synth(buf, len(data), 0, POS_CHARACTER, 0,
                                            CHARS_UTF8 | ENDPAUSE, None, None)
            chunks, events = self._chunks, self._events
            self._chunks, self._events = [], []
        if result != EE_OK:
            raise EspeakUnavailable(f"espeak_Synth failed ({result})")
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        phonemes = _attach_stress(events, stresses)
        return Synthesis(samples.astype(np.int16, copy=False), self.sample_rate, phonemes)

    def phonemes(self, text: str, voice: str) -> list[str]:
        """The phoneme string of each clause, espeak mnemonics separated by spaces, with stress
        marks (``'`` primary, ``,`` secondary) before stressed vowels; words split by two spaces."""
        with _LOCK:
            self._select(voice, 160)
            return self._text_to_phonemes(text)

    def _text_to_phonemes(self, text: str) -> list[str]:
        buf = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
        pointer = ctypes.c_void_p(ctypes.addressof(buf))
        clauses: list[str] = []
        mode = ord(" ") << 8  # mnemonics (not IPA), a space between phonemes
        while pointer.value:
            before = pointer.value
            out = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), CHARS_UTF8, mode)
            if out:
                clauses.append(out.decode("utf-8", "replace"))
            if pointer.value == before:  # never loop on a library that does not advance
                break
        return clauses

    def _stress_marks(self, text: str) -> list[tuple[str, bool]]:
        """Phonemes of ``text`` in order, each with whether it carries a stress mark."""
        marks: list[tuple[str, bool]] = []
        for clause in self._text_to_phonemes(text):
            for token in clause.split():
                stressed = False
                while token and token[0] in "',":
                    stressed = True
                    token = token[1:]
                if token:
                    marks.append((token, stressed))
        return marks


def _attach_stress(events: list[tuple[str, int, int]],
                   marks: list[tuple[str, bool]]) -> list[PhonemeEvent]:
    """Give each timed phoneme the stress of the same phoneme in the transcription.

    Both come from the same translator, so they agree except for pauses (events only) and the
    odd liaison; a greedy match with a short look-ahead realigns after any difference.
    """
    out: list[PhonemeEvent] = []
    j = 0
    for name, ms, word in events:
        stressed = False
        if not name.startswith("_"):
            for k in range(j, min(j + 4, len(marks))):
                if marks[k][0] == name:
                    stressed = marks[k][1]
                    j = k + 1
                    break
        out.append(PhonemeEvent(name, ms / 1000.0, stressed, word))
    return out


_LOCK = threading.RLock()
_LIBRARY: EspeakLibrary | None = None
_FAILED: str | None = None


def library() -> EspeakLibrary:
    """The process's espeak library, loaded on first use; raises ``EspeakUnavailable``."""
    global _LIBRARY, _FAILED
    with _LOCK:
        if _LIBRARY is None:
            if _FAILED is not None:
                raise EspeakUnavailable(_FAILED)
            try:
                _LIBRARY = EspeakLibrary()
            except EspeakUnavailable as exc:
                _FAILED = str(exc)
                log.warning("libespeak-ng unavailable, using the command line: %s", exc)
                raise
        return _LIBRARY
