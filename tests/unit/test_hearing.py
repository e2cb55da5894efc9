"""The customer's speech cut into turns (WebRTC's voice activity detector on real espeak-ng
speech): speech over the assistant stops it after 0.4 s, a turn ends after 0.5 s of silence,
a click is no turn; and the shipped recogniser hears an English question of the FAQ."""

from __future__ import annotations

import numpy as np

from avatarcall.assistant import load_faqs
from avatarcall.avatar.hearing import BARGE_IN, PAUSE, BargeIn, Hearing, Pause, Turn
from avatarcall.avatar.recognizers import PocketSphinx
from avatarcall.avatar.speech import SAMPLE_RATE, EspeakSynthesizer


def spoken(text: str) -> np.ndarray:
    """espeak-ng saying ``text``, from its first sound to its last (its own silences cut)."""
    samples = EspeakSynthesizer().synthesize(text, "en").samples.astype(np.float32)
    loud = np.flatnonzero(np.abs(samples) > 0.02)
    return samples[loud[0]:loud[-1] + 1]


def feed(hearing: Hearing, samples: np.ndarray) -> list[tuple[float, object]]:
    """(seconds into the audio, what happened), fed 20 ms at a time as WebRTC does."""
    out = []
    step = SAMPLE_RATE // 50
    for i in range(0, len(samples), step):
        out += [((i + step) / SAMPLE_RATE, h) for h in hearing.feed(samples[i:i + step])]
    return out


def test_speech_barges_in_then_makes_one_turn_after_half_a_second_of_silence() -> None:
    speech = spoken("What are your opening hours on Saturday")
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    events = feed(Hearing(), np.concatenate([silence, speech, silence]))
    kinds = [type(h) for _, h in events if not isinstance(h, Pause)]
    assert kinds == [BargeIn, Turn]
    (barge_at, _), (turn_at, turn) = [(t, h) for t, h in events if not isinstance(h, Pause)]
    assert 1.0 + BARGE_IN <= barge_at < 1.0 + BARGE_IN + 0.3  # 0.4 s into the speech
    speech_end = 1.0 + len(speech) / SAMPLE_RATE
    assert speech_end < turn_at < speech_end + 0.8  # ~0.5 s of silence after the last word
    assert isinstance(turn, Turn) and turn.seconds >= len(speech) / SAMPLE_RATE - 0.2
    # Its last pause came ~0.15 s after the last word, with all the words the turn has.
    pause_at, pause = [(t, h) for t, h in events if isinstance(h, Pause)][-1]
    assert isinstance(pause, Pause) and pause.spoken == turn.spoken
    assert speech_end + PAUSE - 0.1 < pause_at < turn_at
    assert np.array_equal(pause.pcm, turn.pcm[:len(pause.pcm)])


def test_words_after_a_pause_are_not_lost() -> None:
    gap = np.zeros(int(SAMPLE_RATE * 0.3), dtype=np.float32)  # a pause, not the end of the turn
    audio = np.concatenate([spoken("I want to"), gap, spoken("return my order"),
                            np.zeros(SAMPLE_RATE, dtype=np.float32)])
    events = [h for _, h in feed(Hearing(), audio)]
    turns = [h for h in events if isinstance(h, Turn)]
    pauses = [h for h in events if isinstance(h, Pause)]
    assert len(turns) == 1 and len(pauses) >= 2
    assert pauses[0].spoken < turns[0].spoken == pauses[-1].spoken  # the first is out of date


def test_a_click_or_silence_is_no_turn() -> None:
    click = np.zeros(SAMPLE_RATE * 2, dtype=np.float32)
    click[SAMPLE_RATE: SAMPLE_RATE + 160] = 0.9
    assert feed(Hearing(), click) == []


def test_the_recogniser_hears_a_question_of_the_faq() -> None:
    faq = load_faqs()["en"]
    recognizer = PocketSphinx([q for e in faq.entries for q in e.questions])
    events = feed(Hearing(), np.concatenate([spoken("What are your opening hours"),
                                             np.zeros(SAMPLE_RATE, dtype=np.float32)]))
    turn = next(h for _, h in events if isinstance(h, Turn))
    text = recognizer.transcribe(turn.pcm, "en")
    assert faq.best(text).entry.id == "opening-hours", text

