"""``avatarcall bench conversation``: how quickly and how well the assistant answers.

N spoken and N typed English questions, put otherwise than in the FAQ, go through what the
server runs: spoken ones as synthetic speech (48 kHz, a microphone's noise floor added, 20 ms at
a time) through the voice detector and the recogniser (started at the customer's first pause,
as the server does), then the assistant's answer and the first sentence of its speech. From the
end of speech (the last loud sample) to the answer's first sound:

    the detector's wait for silence (audio time) + what recognition still needs once the turn
    has ended (started at the pause: its time past the turn's end, if any) + answer +
    synthesis of the first sentence up to its first loud sample + the session's lead (100 ms)

and, for typed ones, from the question's arrival. Left out: the network both ways and the
browser's jitter buffer (tens of ms on loopback). Also: the share answered with the right entry,
and of N questions the FAQ has no answer for, the share kept for the advisor. The speakers:
espeak-ng (our own voice: formant synthesis, its own pronunciations) and, when Flite is
installed (the tests' setup installs it), three of its voices made from recorded speakers.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import wave
from collections.abc import Callable
from functools import partial
from io import BytesIO

import numpy as np

from avatarcall.assistant import Assistant, ReplyKind, Waiting, load_faqs
from avatarcall.avatar.hearing import FRAME_S, PAUSE, Hearing, Pause, Turn
from avatarcall.avatar.recognizers import PocketSphinx
from avatarcall.avatar.session import SPEECH_LEAD
from avatarcall.avatar.speech import SAMPLE_RATE, EspeakSynthesizer
from avatarcall.bench.stats import median, ms, p95, rate

# (question, the FAQ entry that answers it); none of them is one of the FAQ's own questions.
QUESTIONS = [
    ("what time do you open in the morning", "opening-hours"),
    ("are you open on sunday", "opening-hours"),
    ("what are your hours on saturday", "opening-hours"),
    ("until what time are you open today", "opening-hours"),
    ("has my parcel been shipped", "track-order"),
    ("where is my package", "track-order"),
    ("has my order been sent", "track-order"),
    ("can you tell me where my delivery is", "track-order"),
    ("how much does delivery cost", "delivery-cost"),
    ("is shipping free", "delivery-cost"),
    ("what does shipping cost", "delivery-cost"),
    ("is delivery free of charge", "delivery-cost"),
    ("how long will delivery take", "delivery-time"),
    ("how many days until my order arrives", "delivery-time"),
    ("how fast do you deliver", "delivery-time"),
    ("I want to send back a shirt", "returns"),
    ("how can I return a product", "returns"),
    ("can I return an item I do not like", "returns"),
    ("I would like to send this item back", "returns"),
    ("when do I get my refund", "refund"),
    ("I want my money back", "refund"),
    ("my refund has not arrived", "refund"),
    ("how long until I am refunded", "refund"),
    ("can I pay with paypal", "payment"),
    ("do you accept credit cards", "payment"),
    ("which cards do you take", "payment"),
    ("can I pay with a bank card", "payment"),
    ("I need to cancel my order", "cancel-order"),
    ("please cancel my order", "cancel-order"),
    ("can I change the delivery address", "change-address"),
    ("I moved and need to change my address", "change-address"),
    ("I forgot my password", "password"),
    ("how do I reset the password", "password"),
    ("I cannot remember my password", "password"),
    ("I am locked out of my account", "password"),
    ("where is my invoice", "invoice"),
    ("can you send me a receipt", "invoice"),
    ("my product is damaged", "warranty"),
    ("is there a warranty", "warranty"),
    ("the item arrived broken", "warranty"),
]
# Questions the FAQ has no answer for: kept for the advisor, not answered with some entry.
ELSEWHERE = [
    "what is the weather like today", "do you sell gift cards", "my name is john smith",
    "I would like to buy a new phone", "can you recommend a good restaurant",
    "who won the football match", "do you have this jacket in blue",
    "is your shop near the station", "my neighbour is very noisy",
    "what do you think about politics", "tell me a joke", "the music is too loud",
    "I like your website", "my dog ate my homework", "are you a robot", "how old are you",
    "what is your favourite colour", "can I buy a christmas present",
    "is it going to rain tomorrow", "I live in london",
]
LOUD = 0.02  # a sample above this is sound
NOISE_FLOOR = 0.0005  # a quiet room through a headset microphone (about -66 dBFS)


def _first_loud(samples: np.ndarray) -> int:
    loud = np.flatnonzero(np.abs(samples) > LOUD)
    return int(loud[0]) if len(loud) else 0


def _last_loud(samples: np.ndarray) -> int:
    loud = np.flatnonzero(np.abs(samples) > LOUD)
    return int(loud[-1]) if len(loud) else len(samples)


def _first_sound(synth: EspeakSynthesizer, text: str) -> float:
    """Seconds until the answer's first sound is ready to play (synthesis + its leading quiet)."""
    t0 = time.perf_counter()
    chunk = next(iter(synth.synthesize_stream(text, "en")))
    return time.perf_counter() - t0 + _first_loud(chunk.samples) / SAMPLE_RATE


Speaker = Callable[[str], np.ndarray]  # a sentence -> its sound, 48 kHz float32
FLITE_VOICES = ("slt", "rms", "awb")  # an American woman and man, a Scottish man


def espeak_speaker(synth: EspeakSynthesizer) -> Speaker:
    return lambda text: synth.synthesize(text, "en").samples.astype(np.float32)


def flite_speaker(voice: str) -> Speaker:
    """Flite's ``voice`` (16 kHz), brought to 48 kHz."""
    def say(text: str) -> np.ndarray:
        wav = subprocess.run(["flite", "-voice", voice, "-t", text, "-o", "/dev/stdout"],
                             check=True, capture_output=True).stdout
        with wave.open(BytesIO(wav)) as w:
            rate, raw = w.getframerate(), w.readframes(w.getnframes())
        sound = np.frombuffer(raw, "<i2").astype(np.float32) / 32768
        at = np.arange(round(len(sound) * SAMPLE_RATE / rate)) / SAMPLE_RATE
        return np.interp(at, np.arange(len(sound)) / rate, sound).astype(np.float32)
    return say


def speakers(synth: EspeakSynthesizer) -> dict[str, Speaker]:
    found = {"espeak-ng": espeak_speaker(synth)}
    if shutil.which("flite"):
        found |= {f"flite {voice}": flite_speaker(voice) for voice in FLITE_VOICES}
    return found


class _Ear:
    """The server's hearing of a speaker through a quiet microphone."""

    def __init__(self, recognizer: PocketSphinx) -> None:
        self.recognizer = recognizer
        self.noise = np.random.default_rng(15)

    def hear(self, speech: np.ndarray) -> tuple[float, float, bool, str] | None:
        """(the detector's wait past the last loud sample, recognition past the turn's end,
        whether it was recognised from the pause, the words); None: no turn heard."""
        audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), speech,
                                np.zeros(SAMPLE_RATE, np.float32)])
        audio += self.noise.normal(0.0, NOISE_FLOOR, len(audio)).astype(np.float32)
        speech_end = (SAMPLE_RATE // 2 + _last_loud(speech)) / SAMPLE_RATE
        hearing, turn, early = Hearing(), None, None
        step = SAMPLE_RATE // 50
        for i in range(0, len(audio), step):
            for event in hearing.feed(audio[i:i + step]):
                if isinstance(event, Pause):  # recognised from here: (audio time, words, cost)
                    t = time.perf_counter()
                    text = self.recognizer.transcribe(event.pcm, "en")
                    early = ((i + step) / SAMPLE_RATE, event.spoken, text,
                             time.perf_counter() - t)
                elif isinstance(event, Turn):
                    turn = event
            if turn is not None:
                break
        if turn is None:
            return None
        if early is not None and early[1] == turn.spoken:  # no word since the pause
            paused_at, _, text, cost = early
            return (turn.ended_at - speech_end, max(0.0, paused_at + cost - turn.ended_at),
                    True, text)
        t = time.perf_counter()
        text = self.recognizer.transcribe(turn.pcm, "en")
        return turn.ended_at - speech_end, time.perf_counter() - t, False, text


def run(runs: int = 40) -> int:
    faqs = load_faqs()
    assistant = Assistant(faqs)
    synth = EspeakSynthesizer()
    t0 = time.perf_counter()
    recognizer = PocketSphinx(faqs["en"].sentences(),
                              meaning=partial(assistant.meaning, language="en"))
    loaded = time.perf_counter() - t0
    waiting = Waiting(position=2, agents_online=1, estimated_wait=120)
    lead = SPEECH_LEAD / SAMPLE_RATE
    asked = [QUESTIONS[i % len(QUESTIONS)] for i in range(runs)]
    elsewhere = [ELSEWHERE[i % len(ELSEWHERE)] for i in range(runs)]
    voices = speakers(synth)

    typed, typed_right = [], 0
    for question, entry in asked:
        t = time.perf_counter()
        reply = assistant.reply(question, "en", waiting)
        answered = time.perf_counter() - t
        typed.append(answered + _first_sound(synth, reply.text) + lead)
        typed_right += reply.kind is ReplyKind.FAQ and reply.entry == entry
    kept_typed = sum(assistant.meaning(q, "en") is None for q in elsewhere)

    rows: list[tuple[str, list[float], int, int]] = []
    parts, misheard, speculated = [], [], 0
    ear = _Ear(recognizer)
    for voice, speak in voices.items():
        spoken, right, kept = [], 0, 0
        for question, entry in asked:
            heard_turn = ear.hear(speak(question))
            if heard_turn is None:
                misheard.append((voice, question, "(no turn)"))
                continue
            endpoint, heard, from_pause, text = heard_turn
            speculated += from_pause
            t = time.perf_counter()
            reply = assistant.reply(text, "en", waiting)
            answered = time.perf_counter() - t
            sound = _first_sound(synth, reply.text)
            spoken.append(endpoint + heard + answered + sound + lead)
            parts.append((endpoint, heard, answered, sound))
            if reply.kind is ReplyKind.FAQ and reply.entry == entry:
                right += 1
            else:
                misheard.append((voice, question, text))
        for question in elsewhere:
            heard_turn = ear.hear(speak(question))
            text = heard_turn[3] if heard_turn else ""
            if assistant.meaning(text, "en") is None:
                kept += 1
            else:
                misheard.append((voice, question, f"{text} (answered, though the FAQ cannot)"))
        rows.append((voice, spoken, right, kept))

    print(f"avatarcall bench conversation: {runs} questions the FAQ answers and {runs} it does "
          f"not, typed and spoken by each voice; the shipped FAQ ({len(faqs['en'].entries)} "
          f"entries), pocketsphinx (model made in {loaded * 1000:.0f} ms)")
    print()
    print("| question | end of speech to first sound p50 | p95 | right entry | "
          "no answer in the FAQ: kept for the advisor |")
    print("|---|---|---|---|---|")
    for voice, spoken, right, kept in rows:
        print(f"| spoken, {voice} | {ms(median(spoken))} | {ms(p95(spoken))} | "
              f"{rate(right, runs)} | {rate(kept, runs)} |")
    if len(rows) > 1:
        every = [x for row in rows for x in row[1]]
        print(f"| spoken, all voices | {ms(median(every))} | {ms(p95(every))} | "
              f"{rate(sum(r[2] for r in rows), runs * len(rows))} | "
              f"{rate(sum(r[3] for r in rows), runs * len(rows))} |")
    print(f"| typed (from its arrival) | {ms(median(typed))} | {ms(p95(typed))} | "
          f"{rate(typed_right, runs)} | {rate(kept_typed, runs)} |")
    if parts:
        cols = list(zip(*parts, strict=True))
        print()
        print("spoken, medians: waiting for silence {}, recognition past the turn's end {}, "
              "answer {}, first sound synthesised {}, session lead {}".format(
                  *(ms(median(list(c))) for c in cols), ms(lead)))
        print(f"recognised from the first pause ({ms(round(PAUSE / FRAME_S) * FRAME_S)} of "
              f"silence) with no word since: {speculated}/{len(parts)} turns")
    for voice, question, text in misheard:
        print(f"  {voice}: {question!r} -> {text!r}")
    print("goal (issue #15): spoken p50 <= 800 ms, p95 <= 1200 ms; typed p95 <= 500 ms; "
          ">= 90% right in English")
    return 0
