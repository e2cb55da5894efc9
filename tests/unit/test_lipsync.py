"""Lip sync: espeak-ng's phonemes become visemes, and the audio-only estimator agrees with them."""

from __future__ import annotations

import time

import numpy as np
import pytest

from avatarcall.avatar.espeak import EspeakUnavailable, PhonemeEvent, library
from avatarcall.avatar.lipsync import (
    LiveLipSync,
    estimate_visemes,
    estimate_weights,
    openness_of,
    timeline_from_phonemes,
    viseme_for,
)
from avatarcall.avatar.speech import (
    SAMPLE_RATE,
    EspeakSynthesizer,
    Speech,
    SpeechChunk,
    join_chunks,
    split_sentences,
)
from avatarcall.avatar.visemes import OPENNESS, VISEMES, Viseme

SENTENCES = {
    "fr": "Bonjour, je suis votre assistante. Merci pour votre appel, au revoir !",
    "en": "Hello, I am your assistant. Thank you for waiting, my boss will be there soon.",
}


def _has_library() -> bool:
    try:
        library()
    except EspeakUnavailable:
        return False
    return True


needs_library = pytest.mark.skipif(not _has_library(), reason="libespeak-ng is not installed")


# --- phonemes to visemes ------------------------------------------------------------------


@pytest.mark.parametrize(("phoneme", "viseme"), [
    ("m", Viseme.CLOSED), ("b", Viseme.CLOSED), ("p", Viseme.CLOSED),
    ("f", Viseme.FV), ("v", Viseme.FV),
    ("l", Viseme.LTH), ("T", Viseme.LTH), ("D", Viseme.LTH),
    ("o", Viseme.ROUND), ("O~", Viseme.ROUND), ("oU", Viseme.ROUND),
    ("u", Viseme.PURSED), ("u:", Viseme.PURSED), ("w", Viseme.PURSED), ("y", Viseme.PURSED),
    ("a", Viseme.WIDE), ("aI", Viseme.WIDE), ("A~", Viseme.WIDE),
    ("E", Viseme.OPEN), ("e", Viseme.OPEN),
    ("i", Viseme.SLIGHT), ("s", Viseme.SLIGHT), ("t", Viseme.SLIGHT), ("R", Viseme.SLIGHT),
    ("_", Viseme.REST), ("_:", Viseme.REST), ("'a", Viseme.WIDE),
])
def test_phoneme_mnemonics_map_to_their_mouth_shapes(phoneme: str, viseme: Viseme) -> None:
    assert viseme_for(phoneme) is viseme


def test_a_stop_closes_the_lips_before_its_release() -> None:
    # espeak times /b/ at its release; the lips must meet before that instant.
    events = [PhonemeEvent("a", 0.0), PhonemeEvent("b", 0.30), PhonemeEvent("a", 0.35, True),
              PhonemeEvent("_", 0.6)]
    tl = timeline_from_phonemes(events, 0.7, lead=0.0)
    assert tl.viseme_at(0.27) is Viseme.CLOSED
    assert tl.viseme_at(0.20) is Viseme.WIDE and tl.viseme_at(0.45) is Viseme.WIDE
    assert tl.stressed_at(0.45) and not tl.stressed_at(0.2)
    assert tl.weights_at(0.65)[Viseme.REST] == 1.0


# --- espeak-ng in-process -------------------------------------------------------------------


@needs_library
@pytest.mark.parametrize("language", ["fr", "en"])
def test_espeak_phonemes_give_a_plausible_viseme_timeline(language: str) -> None:
    speech = EspeakSynthesizer().synthesize(SENTENCES[language], language)
    tl = speech.visemes
    assert tl is not None and len(tl) > 20
    assert 0.0 <= tl.start and tl.end <= speech.duration
    shapes = {e.viseme for e in tl}
    # "bonjour", "pour", "appel" / "my", "boss", "be": lips close; "o" / "oU" round.
    assert Viseme.CLOSED in shapes
    assert Viseme.ROUND in shapes
    assert shapes & {Viseme.OPEN, Viseme.WIDE}
    assert any(e.stressed for e in tl)
    # Where the timeline says wide open, the voice is sounding (not a pause).
    loud = np.abs(speech.samples)
    for e in tl:
        if e.viseme is Viseme.WIDE and e.duration > 0.06:
            a, b = int(e.start * SAMPLE_RATE), int(e.end * SAMPLE_RATE)
            assert loud[a:b].max() > 0.05


@needs_library
def test_the_library_reports_phonemes_with_stress_and_timing() -> None:
    result = library().synthesize("Hello", "en-us")
    names = [p.phoneme for p in result.phonemes]
    assert names[:4] == ["h", "@", "l", "oU"]
    assert [p.stressed for p in result.phonemes[:4]] == [False, False, False, True]
    times = [p.at for p in result.phonemes]
    assert times == sorted(times) and times[-1] <= result.duration
    assert result.rate == 22_050 and result.samples.dtype == np.int16


def test_sentences_are_split_and_long_ones_cut_at_clauses() -> None:
    assert split_sentences("Bonjour. Comment allez-vous ? Bien !") == [
        "Bonjour.", "Comment allez-vous ?", "Bien !"]
    long = ", ".join(["un deux trois quatre cinq"] * 20) + "."
    pieces = split_sentences(long, max_chars=60)
    assert len(pieces) > 2 and all(len(p) <= 60 for p in pieces)
    assert " ".join(pieces) == long


@pytest.mark.parametrize("use_library", [True, False])
def test_streaming_yields_sentence_chunks_that_join_into_the_whole(use_library: bool) -> None:
    if use_library and not _has_library():
        pytest.skip("libespeak-ng is not installed")
    synth = EspeakSynthesizer(use_library=use_library)
    text = "Bonjour. Merci pour votre appel. Au revoir !"
    chunks = list(synth.synthesize_stream(text, "fr"))
    assert [c.text for c in chunks] == ["Bonjour.", "Merci pour votre appel.", "Au revoir !"]
    assert [c.final for c in chunks] == [False, False, True]
    for chunk in chunks:
        assert isinstance(chunk, SpeechChunk) and chunk.samples.dtype == np.float32
        assert chunk.duration > 0.3 and len(chunk.visemes) > 0
        assert chunk.visemes.end <= chunk.duration + 1e-6  # relative to the chunk's start
    joined = join_chunks(chunks, text)
    assert len(joined.samples) == sum(len(c.samples) for c in chunks)
    assert joined.visemes is not None
    assert len(joined.visemes) == sum(len(c.visemes) for c in chunks)
    second = chunks[1].visemes.events[0]
    assert joined.visemes.events[len(chunks[0].visemes)].start == pytest.approx(
        chunks[0].duration + second.start)
    whole = synth.synthesize(text, "fr")  # the same text in one go: about as long
    assert abs(whole.duration - joined.duration) < 0.05


# --- visemes from the sound alone ------------------------------------------------------------


def _agreement(speech: Speech) -> tuple[float, float]:
    """Correlation of mouth opening per 10 ms, and share of 10 ms frames where both agree on
    open versus closed, between the phoneme timeline and the audio-only estimate."""
    n = len(speech.samples) // (SAMPLE_RATE // 100)
    assert speech.visemes is not None
    reference = openness_of(speech.visemes.matrix(0.01, n))
    estimate = openness_of(estimate_weights(speech.samples, SAMPLE_RATE)[:n])
    corr = float(np.corrcoef(reference, estimate)[0, 1])
    coarse = float(np.mean((reference > 0.2) == (estimate > 0.2)))
    return corr, coarse


@needs_library
@pytest.mark.parametrize("language", ["fr", "en"])
def test_audio_estimator_agrees_with_the_phoneme_timeline(language: str) -> None:
    speech = EspeakSynthesizer().synthesize(SENTENCES[language], language)
    corr, coarse = _agreement(speech)
    print(f"\nlip-sync agreement ({language}): openness correlation {corr:.2f}, "
          f"open/closed agree on {coarse:.0%} of 10 ms frames")
    assert corr > 0.4
    assert coarse > 0.65


@needs_library
def test_live_lipsync_agrees_with_the_phoneme_timeline_in_20ms_frames() -> None:
    speech = EspeakSynthesizer().synthesize(SENTENCES["en"], "en")
    live = LiveLipSync(SAMPLE_RATE)
    frame = SAMPLE_RATE // 50
    got, want = [], []
    assert speech.visemes is not None
    for k in range(len(speech.samples) // frame):
        weights = live.push(speech.samples[k * frame:(k + 1) * frame])
        assert sum(weights.values()) == pytest.approx(1.0, abs=1e-5)
        got.append(sum(OPENNESS[v] * w for v, w in weights.items()))
        want.append(sum(OPENNESS[v] * w
                        for v, w in speech.visemes.weights_at((k + 0.5) * 0.02).items()))
    corr = float(np.corrcoef(got, want)[0, 1])
    t0 = time.perf_counter()
    for k in range(200):
        live.push(speech.samples[k * frame:(k + 1) * frame])
    us = (time.perf_counter() - t0) / 200 * 1e6
    print(f"\nlive lip-sync agreement (en, 20 ms frames): openness correlation {corr:.2f}; "
          f"{us:.0f} us per 20 ms frame")
    assert corr > 0.4


@needs_library
def test_a_bang_on_the_microphone_does_not_shut_the_mouth_that_follows() -> None:
    speech = EspeakSynthesizer().synthesize(SENTENCES["en"], "en").samples.astype(np.float32)
    bang = np.zeros(SAMPLE_RATE // 10, dtype=np.float32)
    bang[:SAMPLE_RATE * 3 // 100] = np.random.default_rng(1).normal(0, 0.9, SAMPLE_RATE * 3 // 100)

    def opening_after(gap: np.ndarray) -> float:
        live, frame, opens = LiveLipSync(SAMPLE_RATE), SAMPLE_RATE // 50, []
        cut = len(speech) // 3
        data = np.concatenate([speech[:cut], gap, speech[cut:]])
        for k in range(len(data) // frame):
            weights = live.push(data[k * frame:(k + 1) * frame])
            opens.append(sum(OPENNESS[v] * w for v, w in weights.items()))
        return float(np.mean(opens[(cut + len(gap)) // frame:]))

    # A 30 ms knock some nine times as loud as the voice, mid-sentence: the mouth opens on
    # the words after it as it does without it (it opened half as much for 4 s when the
    # voice's level was its loudest instant, slowly forgotten).
    quiet, knocked = opening_after(np.zeros_like(bang)), opening_after(bang)
    assert knocked > 0.9 * quiet, (knocked, quiet)


@needs_library
def test_the_noise_of_a_room_in_a_long_pause_does_not_move_the_lips() -> None:
    speech = EspeakSynthesizer().synthesize(SENTENCES["en"], "en").samples.astype(np.float32)
    room = np.random.default_rng(2).normal(0, 0.006, 5 * SAMPLE_RATE).astype(np.float32)
    live, frame, opens = LiveLipSync(SAMPLE_RATE), SAMPLE_RATE // 50, []
    data = np.concatenate([speech, room])  # about -45 dBFS: a fan, a quiet office
    for k in range(len(data) // frame):
        weights = live.push(data[k * frame:(k + 1) * frame])
        opens.append(sum(OPENNESS[v] * w for v, w in weights.items()))
    in_pause = np.array(opens[(len(speech) + SAMPLE_RATE // 2) // frame:])
    assert float(in_pause.max()) < 0.1, float(in_pause.max())


def test_live_lipsync_rests_in_silence_and_opens_on_a_loud_vowel() -> None:
    live = LiveLipSync(48_000)
    silence = np.zeros(960, dtype=np.float32)
    for _ in range(10):
        weights = live.push(silence)
    assert weights[Viseme.REST] > 0.95
    t = np.arange(960) / 48_000
    vowel = (0.4 * np.sin(2 * np.pi * 700 * t) + 0.3 * np.sin(2 * np.pi * 1200 * t)).astype(
        np.float32)
    for _ in range(10):
        weights = live.push(vowel)
    assert weights[Viseme.WIDE] + weights[Viseme.OPEN] > 0.6
    # int16 frames and odd sizes are fine too
    weights = live.push((vowel[:333] * 32767).astype(np.int16))
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-5)


def test_estimate_visemes_on_noise_bursts_and_silence() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(48_000 // 5) / 48_000
    vowel = (0.5 * np.sin(2 * np.pi * 600 * t) + 0.3 * np.sin(2 * np.pi * 1300 * t))
    hiss = rng.normal(0, 0.02, len(t)) * 1.0
    hiss = np.convolve(hiss, [1, -1], mode="same")  # high-passed: an /f/-like noise
    samples = np.concatenate([np.zeros(9600), vowel, hiss, np.zeros(9600)]).astype(np.float32)
    tl = estimate_visemes(samples, 48_000)
    assert tl.viseme_at(0.1) is Viseme.REST
    assert tl.viseme_at(0.3) in (Viseme.OPEN, Viseme.WIDE)
    assert tl.viseme_at(0.5) in (Viseme.FV, Viseme.SLIGHT)
    assert estimate_weights(np.zeros(0, np.float32), 48_000).shape == (0, len(VISEMES))


def test_piper_needs_a_model_and_its_package(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from avatarcall.avatar.speech import PiperSynthesizer, SpeechError

    with pytest.raises(SpeechError, match="no Piper voice model"):
        PiperSynthesizer(tmp_path / "missing.onnx")
    try:
        import piper  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        model = tmp_path / "voice.onnx"
        model.write_bytes(b"not a model")
        with pytest.raises(SpeechError, match="piper-tts"):
            PiperSynthesizer(model).synthesize("Hello.", "en")
    else:  # pragma: no cover - only where piper-tts is installed
        pytest.skip("piper-tts is installed but no voice model ships with the tests")
