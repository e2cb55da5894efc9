"""Recognition backends behind one interface: Vosk from a folder the operator supplies (a
folder that is no model is told clearly, before any customer talks), several backends each
hearing its own languages, and the pages offering a microphone only for those.

A real Vosk model cannot be fetched here (no downloads): set ``AVATARCALL_TEST_VOSK_MODEL`` to a
French model folder (e.g. vosk-model-small-fr-0.22) and the last test hears French with it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from avatarcall.assistant import load_faqs
from avatarcall.avatar import setup
from avatarcall.avatar.hearing import Hearing, Turn
from avatarcall.avatar.recognizers import ByLanguage, PocketSphinx, TranscriptionEndpoint, Vosk
from avatarcall.avatar.speech import SAMPLE_RATE, EspeakSynthesizer
from avatarcall.config import Settings


def test_a_vosk_folder_that_is_missing_or_no_model_is_told_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="the 'fr' model folder .* does not exist"):
        Settings(vosk_models={"fr": tmp_path / "nowhere"})
    with pytest.raises(ValueError, match="is no Vosk model folder"):
        Vosk("fr", tmp_path)
    settings = Settings(vosk_models={"fr": tmp_path})
    with pytest.raises(ValueError, match="is no Vosk model folder"):
        setup.recognizer(settings)


def test_each_language_goes_to_its_own_recognizer() -> None:
    english = PocketSphinx(["where is my order"])
    french = TranscriptionEndpoint("http://127.0.0.1:9/v1", "whisper-1", languages=["fr", "de"])
    both = ByLanguage([english, french])
    assert both.languages == {"en", "fr", "de"}
    silence = np.zeros(SAMPLE_RATE // 3, np.int16)
    assert both.transcribe(silence, "en") == ""  # pocketsphinx, here
    assert both.transcribe(silence, "fr") == ""  # the endpoint, unreachable: logged, no words


def test_the_pages_offer_a_mic_only_where_something_hears(tmp_path: Path) -> None:
    assert setup.listens(Settings()) == ["en"]
    assert setup.listens(Settings(speech_recognizer="off")) == []
    assert setup.listens(Settings(speech_recognizer="off", vosk_models={"fr": tmp_path})) == ["fr"]
    assert setup.listens(Settings(vosk_models={"fr": tmp_path})) == ["en", "fr"]


@pytest.mark.skipif(not os.environ.get("AVATARCALL_TEST_VOSK_MODEL"),
                    reason="no Vosk model here: set AVATARCALL_TEST_VOSK_MODEL to a French one")
def test_vosk_hears_a_french_question_of_the_faq() -> None:
    recognizer = Vosk("fr", Path(os.environ["AVATARCALL_TEST_VOSK_MODEL"]))
    speech = EspeakSynthesizer().synthesize("Quels sont vos horaires d'ouverture", "fr")
    audio = np.concatenate([speech.samples.astype(np.float32), np.zeros(SAMPLE_RATE, np.float32)])
    hearing, text = Hearing(), ""
    for i in range(0, len(audio), SAMPLE_RATE // 50):
        for event in hearing.feed(audio[i:i + SAMPLE_RATE // 50]):
            if isinstance(event, Turn):
                text = recognizer.transcribe(event.pcm, "fr")
    assert load_faqs()["fr"].best(text).entry.id == "opening-hours", text
