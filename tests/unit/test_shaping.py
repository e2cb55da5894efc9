"""The lab's shaper: what a link does to packets (simulated clock, no waiting)."""

from __future__ import annotations

import itertools

import pytest

from avatarcall.testing.shaping import PROFILES, Direction, Shaper


def test_an_unshaped_link_delivers_everything_at_once() -> None:
    shaper = Shaper(PROFILES["good"].down)
    assert [shaper.arrival(1.0, 1200) for _ in range(100)] == pytest.approx([1.0] * 100, abs=1e-3)


def test_a_rate_spaces_packets_by_their_size() -> None:
    shaper = Shaper(Direction(rate_bps=100_000, delay_s=0.05))
    arrivals = [shaper.arrival(0.0, 1250) for _ in range(3)]  # 1250 bytes = 0.1 s at 100 kbps
    assert arrivals == pytest.approx([0.15, 0.25, 0.35])


def test_a_full_queue_drops_the_tail_and_a_stream_waits_instead() -> None:
    shaper = Shaper(Direction(rate_bps=100_000, queue_s=0.25))
    kept = [shaper.arrival(0.0, 1250) for _ in range(10)]
    assert kept[:3] == pytest.approx([0.1, 0.2, 0.3]) and kept[3:] == [None] * 7
    assert Shaper(Direction(rate_bps=100_000, queue_s=0.25)).arrival(0.0, 125_000) is not None
    stream = Shaper(Direction(rate_bps=100_000, queue_s=0.25))
    assert None not in [stream.arrival(0.0, 1250, reliable=True) for _ in range(10)]


def test_loss_is_the_profile_s_share_and_streams_lose_nothing() -> None:
    poor = Shaper(PROFILES["poor"].down)
    lost = sum(poor.arrival(n * 0.1, 100) is None for n in range(10_000))
    assert 400 < lost < 600  # 5% of 10,000
    stream = Shaper(PROFILES["poor"].down)
    assert all(stream.arrival(n * 0.1, 100, reliable=True) for n in range(1000))


def test_jitter_never_reorders() -> None:
    shaper = Shaper(Direction(delay_s=0.1, jitter_s=0.05))
    arrivals = [shaper.arrival(n * 0.001, 100) for n in range(1000)]
    assert all(a < b for a, b in itertools.pairwise(arrivals))
    assert min(arrivals[i] - i * 0.001 for i in range(1000)) >= 0.1
