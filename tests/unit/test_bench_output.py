"""What ``avatarcall bench lipsync`` prints, from figures given here (the measuring itself runs
in Chromium: ``avatarcall bench lipsync``)."""

from __future__ import annotations

import pytest

from avatarcall.bench.lipsync import Offsets, print_offsets
from avatarcall.testing.voice import write_voice_wav


def test_the_table_gives_median_range_correlation_and_runs(capsys: pytest.CaptureFixture[str]) -> None:
    print_offsets({
        ("speech", "ours"): Offsets(lags=[-40.0, -50.0, -30.0], correlations=[0.5, 0.4, 0.6]),
        ("speech", "browser"): Offsets(lags=[-140.0], correlations=[0.3], failures=1),
        ("voice", "ours"): Offsets(failures=2),
    })
    out = capsys.readouterr().out
    assert "avatar speech (TTS), LipSync (ours)" in out
    row = next(line for line in out.splitlines() if "TTS), LipSync" in line)
    assert "-40 ms" in row and "-50..-30 ms" in row and "0.50" in row and "3/3" in row
    assert "1/2" in next(line for line in out.splitlines() if "browser sync only" in line)
    assert "0/2" in next(line for line in out.splitlines() if "live voice" in line)


def test_the_fake_microphone_is_spoken_audio(tmp_path) -> None:
    import wave

    path = write_voice_wav(tmp_path / "voice.wav", "Bonjour, je suis votre conseiller.", "fr")
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48_000, 1, 2)
        assert wav.getnframes() > 48_000  # more than a second: the words, then half a second


def test_bench_conversation_prints_latency_and_the_share_answered_right(
        capsys: pytest.CaptureFixture[str]) -> None:
    from avatarcall.bench.conversation import run

    assert run(runs=2) == 0
    out = capsys.readouterr().out
    spoken = next(line for line in out.splitlines() if line.startswith("| spoken"))
    typed = next(line for line in out.splitlines() if line.startswith("| typed"))
    assert spoken.count(" ms") == 2 and "/2" in spoken
    assert typed.count(" ms") == 2 and "2/2 (100%)" in typed  # what is typed is not misheard
    assert "waiting for silence" in out


def test_a_first_frame_after_the_call_is_timed_from_its_own_start() -> None:
    from avatarcall.testing.browser import seconds_between

    history = [("starting", 100.0), ("live", 300.0), ("off", 5000.0), ("starting", 9000.0),
               ("live", 9150.0)]
    assert seconds_between(history, "starting", "live") == 0.2  # the first one
    assert seconds_between(history, "starting", "live", since=8000.0) == 0.15
    assert seconds_between(history, "starting", "live", since=9100.0) is None  # no start after
