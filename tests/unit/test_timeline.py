"""The speech timeline (one sample clock for voice and lips) and the speech helpers under it."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from avatarcall.avatar.speech import (
    SAMPLE_RATE,
    EspeakSynthesizer,
    Speech,
    SpeechChunk,
    resample,
    wav_to_samples,
)
from avatarcall.avatar.timeline import SpeechTimeline, envelope
from avatarcall.avatar.visemes import Viseme, VisemeTimeline

MS = SAMPLE_RATE // 1000


def tone(ms: int, amplitude: float = 0.5, hz: float = 220.0) -> np.ndarray:
    t = np.arange(ms * MS) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def silence(ms: int) -> np.ndarray:
    return np.zeros(ms * MS, dtype=np.float32)


def speech(*parts: np.ndarray) -> Speech:
    return Speech(np.concatenate(parts).astype(np.float32), "test")


# --- envelope and timeline -----------------------------------------------------------------


def test_envelope_is_in_unit_range_one_value_per_10ms() -> None:
    rng = np.random.default_rng(1)
    samples = np.concatenate([tone(200, 0.9), silence(100), rng.uniform(-1, 1, 300 * MS)])
    env = envelope(samples.astype(np.float32))
    assert len(env) == 60
    assert env.min() >= 0.0 and env.max() <= 1.0
    assert env[:20].max() > 0.5 and env[20:30].max() == 0.0


def test_envelope_of_silence_and_of_nothing() -> None:
    assert not envelope(silence(100)).any()
    assert len(envelope(np.zeros(10, dtype=np.float32))) == 0


def test_schedule_places_utterances_one_after_another() -> None:
    tl = SpeechTimeline()
    first = tl.schedule(speech(tone(100)), not_before=1000)
    second = tl.schedule(speech(tone(50)), not_before=0)
    assert first.start == 1000 and first.end == 1000 + 100 * MS
    assert second.start == first.end
    later = tl.schedule(speech(tone(10)), not_before=second.end + 480)
    assert later.start == second.end + 480
    assert tl.end == later.end


def test_read_returns_samples_at_their_offsets_and_zeros_elsewhere() -> None:
    tl = SpeechTimeline()
    a, b = tone(20, 0.3), tone(20, 0.6, hz=440)
    tl.schedule(Speech(a, "a"), not_before=100)
    tl.schedule(Speech(b, "b"), not_before=100 + len(a) + 50)
    out = tl.read(0, 100 + len(a) + 50 + len(b) + 30)
    assert not out[:100].any()
    np.testing.assert_array_equal(out[100 : 100 + len(a)], a)
    assert not out[100 + len(a) : 150 + len(a)].any()
    np.testing.assert_array_equal(out[150 + len(a) : 150 + len(a) + len(b)], b)
    assert not out[150 + len(a) + len(b) :].any()
    # a window starting inside an utterance
    np.testing.assert_array_equal(tl.read(110, 10), a[10:20])


def test_mouth_opens_during_speech_and_is_shut_in_silence() -> None:
    tl = SpeechTimeline()
    u = tl.schedule(speech(silence(100), tone(200), silence(100)), not_before=0)
    assert tl.mouth(50 * MS) == 0.0  # silence inside the utterance
    assert 0.5 < tl.mouth(200 * MS) <= 1.0
    assert tl.mouth(350 * MS) == 0.0
    assert tl.mouth(u.end + 10) == 0.0  # after it
    assert tl.speaking(200 * MS) and not tl.speaking(u.end)


def test_clear_cuts_the_current_utterance_and_drops_the_rest() -> None:
    tl = SpeechTimeline()
    first = tl.schedule(speech(tone(100)), not_before=0)
    tl.schedule(speech(tone(100)), not_before=0)
    cut = 50 * MS
    tl.clear(cut)
    assert tl.end == cut
    out = tl.read(0, first.end * 2)
    assert out[:cut].any() and not out[cut:].any()
    assert tl.mouth(cut) == 0.0 and not tl.speaking(cut)
    assert tl.mouth(cut - 5 * MS) > 0.0


def test_drop_before_keeps_what_is_still_playing() -> None:
    tl = SpeechTimeline()
    first = tl.schedule(speech(tone(10)), not_before=0)
    second = tl.schedule(speech(tone(10)), not_before=0)
    tl.drop_before(first.end)
    assert not tl.read(0, first.end).any()
    assert tl.read(second.start, 10).any()


# --- visemes on the timeline -----------------------------------------------------------------


def test_visemes_at_follows_each_utterance_on_the_sample_clock() -> None:
    shapes = VisemeTimeline([(0.0, 0.1, Viseme.CLOSED, False), (0.1, 0.2, Viseme.WIDE, True)])
    tl = SpeechTimeline()
    u = tl.schedule(Speech(tone(300), "ba", shapes), not_before=1000)
    assert tl.visemes_at(500) == ({v: (1.0 if v is Viseme.REST else 0.0) for v in Viseme}, False)
    weights, stressed = tl.visemes_at(u.start + 50 * MS)
    assert weights[Viseme.CLOSED] == 1.0 and not stressed
    weights, stressed = tl.visemes_at(u.start + 150 * MS)
    assert weights[Viseme.WIDE] == 1.0 and stressed
    assert tl.visemes_at(u.start + 250 * MS)[0][Viseme.REST] == 1.0  # past its last shape
    assert tl.visemes_at(u.end + 10)[0][Viseme.REST] == 1.0


def test_speech_without_visemes_gets_them_from_its_audio() -> None:
    tl = SpeechTimeline()
    u = tl.schedule(speech(silence(200), tone(300, 0.6, 700), silence(200)), not_before=0)
    assert tl.visemes_at(100 * MS)[0][Viseme.REST] == 1.0
    weights, _ = tl.visemes_at(350 * MS)
    assert weights[Viseme.REST] < 0.5
    assert u.visemes is not None and len(u.visemes) > 0


def test_streamed_chunks_play_back_to_back_with_their_own_visemes() -> None:
    shapes = VisemeTimeline([(0.0, 0.08, Viseme.ROUND, False)])
    tl = SpeechTimeline()
    first = tl.schedule(SpeechChunk(tone(100), "one.", shapes, 0, False), not_before=0)
    second = tl.schedule(SpeechChunk(tone(100), "two.", shapes, 1, True), not_before=0)
    assert second.start == first.end
    assert tl.visemes_at(second.start + 40 * MS)[0][Viseme.ROUND] == 1.0


def test_clear_cuts_the_visemes_too() -> None:
    shapes = VisemeTimeline([(0.0, 0.2, Viseme.OPEN, False)])
    tl = SpeechTimeline()
    tl.schedule(Speech(tone(200), "a", shapes), not_before=0)
    tl.clear(100 * MS)
    assert tl.visemes_at(150 * MS)[0][Viseme.REST] == 1.0
    assert tl.visemes_at(50 * MS)[0][Viseme.OPEN] == 1.0


# --- speech helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(("rate_in", "n"), [(22_050, 22_050), (16_000, 1234), (48_000, 999)])
def test_resample_length_follows_the_rate_ratio(rate_in: int, n: int) -> None:
    out = resample(np.zeros(n, dtype=np.float32), rate_in)
    assert len(out) == round(n * SAMPLE_RATE / rate_in)
    assert out.dtype == np.float32


def test_resample_keeps_a_slow_signal() -> None:
    x = np.sin(2 * np.pi * 5 * np.arange(16_000) / 16_000).astype(np.float32)
    y = resample(x, 16_000)
    inside = len(y) - 2  # the last two outputs lie past the last input sample
    expected = np.sin(2 * np.pi * 5 * np.arange(inside) / SAMPLE_RATE)
    assert np.abs(y[:inside] - expected).max() < 1e-3


def make_wav(pcm: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    return buf.getvalue()


def test_wav_to_samples_mono() -> None:
    pcm = np.array([0, 16384, -16384, 32767, -32768], dtype=np.int16)
    samples, rate = wav_to_samples(make_wav(pcm, 22_050))
    assert rate == 22_050
    np.testing.assert_allclose(samples, [0.0, 0.5, -0.5, 32767 / 32768, -1.0])


def test_wav_to_samples_stereo_is_mixed_down() -> None:
    pcm = np.array([16384, 0, -16384, -16384], dtype=np.int16)  # two frames, L/R
    samples, rate = wav_to_samples(make_wav(pcm, 16_000, channels=2))
    assert rate == 16_000
    np.testing.assert_allclose(samples, [0.25, -0.5])


@pytest.mark.parametrize(("language", "text"), [
    ("fr", "Bonjour, je suis votre assistante."),
    ("en", "Hello, I am your assistant."),
])
def test_espeak_speaks_french_and_english(language: str, text: str) -> None:
    result = EspeakSynthesizer().synthesize(text, language)
    assert result.text == text
    assert result.samples.dtype == np.float32
    assert result.duration > 0.5
    assert np.abs(result.samples).max() <= 1.0
    loud = envelope(result.samples) > 0
    assert loud.sum() * 0.01 > 0.5  # more than half a second with the mouth open
