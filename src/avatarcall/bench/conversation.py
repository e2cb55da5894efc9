"""``avatarcall bench conversation``: how quickly and how well the assistant answers.

N spoken and N typed English questions, put otherwise than in the FAQ, go through what the
server runs: spoken ones as espeak-ng audio (48 kHz, a microphone's noise floor added, 20 ms at
a time) through the voice detector and the recogniser (started at the customer's first pause,
as the server does), then the assistant's answer and the first sentence of its speech. From the
end of speech (the last loud sample) to the answer's first sound:

    the detector's wait for silence (audio time) + what recognition still needs once the turn
    has ended (started at the pause: its time past the turn's end, if any) + answer +
    synthesis of the first sentence up to its first loud sample + the session's lead (100 ms)

and, for typed ones, from the question's arrival. Left out: the network both ways and the
browser's jitter buffer (tens of ms on loopback). Also: the share answered with the right entry.
"""

from __future__ import annotations

import time

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
    ("has my parcel been shipped", "track-order"),
    ("where is my package", "track-order"),
    ("how much does delivery cost", "delivery-cost"),
    ("is shipping free", "delivery-cost"),
    ("how long will delivery take", "delivery-time"),
    ("I want to send back a shirt", "returns"),
    ("how can I return a product", "returns"),
    ("when do I get my refund", "refund"),
    ("I want my money back", "refund"),
    ("can I pay with paypal", "payment"),
    ("do you accept credit cards", "payment"),
    ("I need to cancel my order", "cancel-order"),
    ("can I change the delivery address", "change-address"),
    ("I forgot my password", "password"),
    ("how do I reset the password", "password"),
    ("where is my invoice", "invoice"),
    ("my product is damaged", "warranty"),
    ("is there a warranty", "warranty"),
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


def run(runs: int = 20) -> int:
    faqs = load_faqs()
    assistant = Assistant(faqs)
    synth = EspeakSynthesizer()
    t0 = time.perf_counter()
    recognizer = PocketSphinx(faqs["en"].sentences())
    loaded = time.perf_counter() - t0
    waiting = Waiting(position=2, agents_online=1, estimated_wait=120)
    lead = SPEECH_LEAD / SAMPLE_RATE
    asked = [QUESTIONS[i % len(QUESTIONS)] for i in range(runs)]

    typed, typed_right = [], 0
    for question, entry in asked:
        t = time.perf_counter()
        reply = assistant.reply(question, "en", waiting)
        answered = time.perf_counter() - t
        typed.append(answered + _first_sound(synth, reply.text) + lead)
        typed_right += reply.kind is ReplyKind.FAQ and reply.entry == entry

    spoken, parts, spoken_right, misheard, speculated = [], [], 0, [], 0
    noise = np.random.default_rng(15)
    step = SAMPLE_RATE // 50
    for question, entry in asked:
        speech = synth.synthesize(question, "en").samples.astype(np.float32)
        audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), speech,
                                np.zeros(SAMPLE_RATE, np.float32)])
        audio += noise.normal(0.0, NOISE_FLOOR, len(audio)).astype(np.float32)  # a microphone's
        speech_end = (SAMPLE_RATE // 2 + _last_loud(speech)) / SAMPLE_RATE
        hearing, turn, early = Hearing(), None, None
        for i in range(0, len(audio), step):
            for event in hearing.feed(audio[i:i + step]):
                if isinstance(event, Pause):  # recognised from here: (audio time, words, cost)
                    t = time.perf_counter()
                    text = recognizer.transcribe(event.pcm, "en")
                    early = ((i + step) / SAMPLE_RATE, event.spoken, text,
                             time.perf_counter() - t)
                elif isinstance(event, Turn):
                    turn = event
            if turn is not None:
                break
        if turn is None:
            misheard.append((question, "(no turn)"))
            continue
        endpoint = turn.ended_at - speech_end
        if early is not None and early[1] == turn.spoken:  # no word since the pause
            paused_at, _, text, cost = early
            heard = max(0.0, paused_at + cost - turn.ended_at)
            speculated += 1
        else:
            t = time.perf_counter()
            text = recognizer.transcribe(turn.pcm, "en")
            heard = time.perf_counter() - t
        t = time.perf_counter()
        reply = assistant.reply(text, "en", waiting)
        answered = time.perf_counter() - t
        sound = _first_sound(synth, reply.text)
        spoken.append(endpoint + heard + answered + sound + lead)
        parts.append((endpoint, heard, answered, sound))
        if reply.kind is ReplyKind.FAQ and reply.entry == entry:
            spoken_right += 1
        else:
            misheard.append((question, text))

    print(f"avatarcall bench conversation: {runs} spoken and {runs} typed English questions, "
          f"the shipped FAQ ({len(faqs['en'].entries)} entries), pocketsphinx (model made in "
          f"{loaded * 1000:.0f} ms), espeak-ng")
    print()
    print("| question | end of speech to first sound p50 | p95 | right entry |")
    print("|---|---|---|---|")
    print(f"| spoken | {ms(median(spoken))} | {ms(p95(spoken))} | {rate(spoken_right, runs)} |")
    print(f"| typed (from its arrival) | {ms(median(typed))} | {ms(p95(typed))} | "
          f"{rate(typed_right, runs)} |")
    if parts:
        cols = list(zip(*parts, strict=True))
        print()
        print("spoken, medians: waiting for silence {}, recognition past the turn's end {}, "
              "answer {}, first sound synthesised {}, session lead {}".format(
                  *(ms(median(list(c))) for c in cols), ms(lead)))
        print(f"recognised from the first pause ({ms(round(PAUSE / FRAME_S) * FRAME_S)} of "
              f"silence) with no word since: {speculated}/{len(parts)} turns")
    for question, text in misheard:
        print(f"  misheard or unanswered: {question!r} -> {text!r}")
    print("goal (issue #15): spoken p50 <= 800 ms, p95 <= 1200 ms; typed p95 <= 500 ms; "
          ">= 90% right in English")
    return 0
