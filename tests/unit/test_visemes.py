"""Viseme timelines: weights that sum to 1, smooth cross-fades, rest outside speech."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from avatarcall.avatar.visemes import (
    VISEMES,
    Viseme,
    VisemeEvent,
    VisemeTimeline,
    from_openness,
    normalized,
    openness,
)


def timeline() -> VisemeTimeline:
    return VisemeTimeline([
        (0.10, 0.30, Viseme.CLOSED, False),
        (0.30, 0.50, Viseme.WIDE, True),
        (0.60, 0.62, Viseme.ROUND, False),  # a very short one after a gap
    ])


def test_the_set_is_the_classic_one() -> None:
    assert [v.value for v in VISEMES] == [
        "rest", "closed", "slight", "open", "wide", "round", "pursed", "fv", "lth"]


@pytest.mark.parametrize("t", np.linspace(-0.2, 1.0, 121).tolist())
def test_weights_cover_all_visemes_and_sum_to_one(t: float) -> None:
    weights = timeline().weights_at(t)
    assert set(weights) == set(VISEMES)
    assert min(weights.values()) >= 0.0
    assert sum(weights.values()) == pytest.approx(1.0)


def test_rest_outside_speech_and_held_shapes_inside() -> None:
    tl = timeline()
    assert tl.weights_at(-1.0)[Viseme.REST] == 1.0
    assert tl.weights_at(5.0)[Viseme.REST] == 1.0
    assert tl.weights_at(0.20)[Viseme.CLOSED] == 1.0
    assert tl.weights_at(0.40)[Viseme.WIDE] == 1.0
    assert tl.weights_at(0.55)[Viseme.REST] == 1.0  # the gap is rest
    assert tl.viseme_at(0.40) is Viseme.WIDE and tl.viseme_at(0.55) is Viseme.REST


def test_neighbours_cross_fade_around_their_boundary() -> None:
    tl = timeline()
    at = tl.weights_at(0.30)
    assert at[Viseme.CLOSED] == pytest.approx(0.5) and at[Viseme.WIDE] == pytest.approx(0.5)
    # The fade spans 50 ms: a few ms in, mostly the new shape, and done by 25 ms.
    assert 0.5 < tl.weights_at(0.31)[Viseme.WIDE] < 1.0
    assert tl.weights_at(0.326)[Viseme.WIDE] == 1.0
    series = [tl.weights_at(0.27 + k * 0.002)[Viseme.WIDE] for k in range(31)]
    assert all(b >= a for a, b in itertools.pairwise(series))  # monotonic, no jumps
    assert max(abs(b - a) for a, b in itertools.pairwise(series)) < 0.1


def test_a_short_shape_still_reaches_full_weight() -> None:
    tl = timeline()
    assert tl.weights_at(0.61)[Viseme.ROUND] == pytest.approx(1.0)


def test_stress_is_reported_for_the_stressed_event_only() -> None:
    tl = timeline()
    assert tl.stressed_at(0.4) and not tl.stressed_at(0.2) and not tl.stressed_at(2.0)


def test_shift_cut_and_concat() -> None:
    tl = timeline()
    moved = tl.shifted(1.0)
    assert moved.weights_at(1.4)[Viseme.WIDE] == 1.0 and moved.start == pytest.approx(1.1)
    cut = tl.cut(0.4)
    assert cut.end == pytest.approx(0.4) and cut.weights_at(0.45)[Viseme.REST] > 0.5
    both = VisemeTimeline.concat([(0.0, tl), (1.0, tl)])
    assert len(both) == 2 * len(tl)
    assert both.weights_at(1.2)[Viseme.CLOSED] == 1.0


def test_overlapping_events_are_trimmed_not_summed() -> None:
    tl = VisemeTimeline([VisemeEvent(0.0, 0.2, Viseme.OPEN), VisemeEvent(0.1, 0.3, Viseme.FV)])
    assert sum(tl.weights_at(0.15).values()) == pytest.approx(1.0)
    assert tl.weights_at(0.25)[Viseme.FV] == 1.0


def test_matrix_samples_the_weights() -> None:
    m = timeline().matrix(0.01, 100)
    assert m.shape == (100, len(VISEMES))
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-5)


def test_openness_helpers() -> None:
    assert openness(from_openness(0.0)) == pytest.approx(0.0)
    assert openness(from_openness(1.0)) == pytest.approx(1.0)
    assert openness(from_openness(0.5)) == pytest.approx(0.5, abs=0.05)
    assert normalized({})[Viseme.REST] == 1.0
    assert sum(normalized({Viseme.OPEN: 2.0, Viseme.FV: 2.0}).values()) == pytest.approx(1.0)
