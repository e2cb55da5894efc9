"""What pocketsphinx hears customers with: the FAQ's sentences and common English, as a sound
ARPA model; of its guesses, the one most of them agree on; and a question the FAQ has no
answer for heard as itself instead of being forced into the FAQ's words."""

from __future__ import annotations

import collections
import math
import re
from functools import partial

import numpy as np
import pytest

from avatarcall.assistant import Assistant, load_faqs
from avatarcall.avatar import language_model
from avatarcall.avatar.hearing import Hearing, Turn
from avatarcall.avatar.recognizers import PocketSphinx, likeliest
from avatarcall.avatar.speech import SAMPLE_RATE, EspeakSynthesizer


def conditionals(arpa: str) -> dict[str, dict[str, float]]:
    """Each context's probability of every word after it, as pocketsphinx reads the model."""
    unigram: dict[str, tuple[float, float]] = {}
    bigram: dict[tuple[str, str], float] = {}
    section = ""
    for line in arpa.splitlines():
        if line.startswith("\\"):
            section = line
        elif line.strip() and section == "\\1-grams:":
            p, word, backoff = line.split()
            unigram[word] = (10 ** float(p), 10 ** float(backoff))
        elif line.strip() and section == "\\2-grams:":
            p, a, b = line.split()
            bigram[(a, b)] = 10 ** float(p)
    words = [w for w in unigram if w != "<s>"]
    return {a: {b: bigram.get((a, b), unigram[a][1] * unigram[b][0]) for b in words}
            for a in unigram if a != "</s>"}


@pytest.mark.parametrize("general", [{}, {"the": 0.5, "order": 0.2, "weather": 0.3}])
def test_every_context_of_the_model_sums_to_one(general: dict[str, float]) -> None:
    arpa = language_model.arpa([["where", "is", "my", "order"], ["my", "order"]], general)
    header = dict(re.findall(r"ngram (\d)=(\d+)", arpa))
    body = re.findall(r"^\S+ \S+ \S+$", arpa.split("\\2-grams:")[1], re.MULTILINE)
    assert int(header["2"]) == len(body) == 6  # <s> where, where is, is my, my order...
    for context, after in conditionals(arpa).items():
        assert math.isclose(sum(after.values()), 1.0, abs_tol=1e-3), context
    assert ("weather" in arpa) == bool(general)


def test_the_general_words_are_englishs_commonest() -> None:
    general = language_model.general_words(["the", "weather", "zyzzyva", "qwxz"], size=2)
    assert list(general) == ["the", "weather"] and math.isclose(sum(general.values()), 1.0)


def test_of_the_guesses_the_best_of_what_most_of_them_mean_wins() -> None:
    meaning = {"where is my order": "track", "where is my older": None, "wear is my order":
               "track", "where is my udder": None, "where is my": None}.get
    # The best guess means nothing, but the next ones mostly agree: the first of those.
    assert likeliest(["where is my older", "where is my order", "wear is my order",
                      "where is my order"], meaning) == "where is my order"
    # Most of them mean nothing: the best guess stands (kept for the advisor).
    assert likeliest(["where is my older", "where is my udder", "where is my", "where is my order"],
                     meaning) == "where is my older"
    assert likeliest([], meaning) == ""


def test_a_question_the_faq_cannot_answer_is_heard_as_itself() -> None:
    faqs = load_faqs()
    assistant = Assistant(faqs)
    recognizer = PocketSphinx(faqs["en"].sentences(),
                              meaning=partial(assistant.meaning, language="en"))
    speech = EspeakSynthesizer().synthesize("the music is too loud", "en").samples
    audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), speech.astype(np.float32),
                            np.zeros(SAMPLE_RATE, np.float32)])
    audio += np.random.default_rng(1).normal(0, 0.0005, len(audio)).astype(np.float32)  # a mic's
    hearing, turns = Hearing(), collections.deque[Turn]()
    for i in range(0, len(audio), SAMPLE_RATE // 50):
        turns.extend(h for h in hearing.feed(audio[i:i + SAMPLE_RATE // 50])
                     if isinstance(h, Turn))
    text = recognizer.transcribe(turns[0].pcm, "en")
    # With the FAQ's words only, this was "the you the queue to hours": the wait, answered.
    assert "music" in text and assistant.meaning(text, "en") is None, text
