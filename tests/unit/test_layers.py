"""Layers: the picture drawn once, encoded once per watched layer, each viewer on its own; and
the choice of a viewer's layer from what its browser reports (a simulated clock)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np
import pytest

from avatarcall.avatar.adapt import PROBE_FIRST_S, LayerChoice
from avatarcall.avatar.layers import HIGH, LOW, LayeredEncoder, layers_for
from avatarcall.avatar.session import AvatarSession, SessionConfig
from avatarcall.avatar.speech import EspeakSynthesizer

LAYERS = layers_for(512, 800_000)


def _decoded_size(packets: list[av.Packet]) -> tuple[int, int]:
    decoder = av.CodecContext.create("vp8", "r")
    frames = [f for p in packets for f in decoder.decode(p)]
    return frames[-1].width, frames[-1].height


def test_only_the_watched_layers_are_encoded_each_at_its_size() -> None:
    encoder = LayeredEncoder(layers_for(128, 800_000))
    picture = np.full((128, 128, 4), 200, np.uint8)
    high_only = encoder.encode(picture, 0, {HIGH}, {HIGH})
    assert set(high_only) == {HIGH} and high_only[HIGH].keyframe
    both = [encoder.encode(picture, 3000 * n, {HIGH, LOW}, {LOW} if n == 1 else set())
            for n in range(1, 4)]
    assert both[0][LOW].keyframe and not both[0][HIGH].keyframe
    assert _decoded_size([high_only[HIGH].packet] + [b[HIGH].packet for b in both]) == (128, 128)
    assert _decoded_size([b[LOW].packet for b in both]) == (64, 64)


def _clean_until_moved(choice: LayerChoice, t: float) -> float:
    """Reports of no loss every half second from ``t``: when the layer changes."""
    while choice.feedback(t, loss=0.0) is None:
        t += 0.5
    return t


def test_a_flooded_link_goes_down_at_once_and_a_clean_one_comes_back_up() -> None:
    choice = LayerChoice(LAYERS, now=0.0)
    assert choice.feedback(0.5, loss=0.4) is None  # a second on a layer before leaving it
    assert choice.feedback(1.2, loss=0.4).name == LOW
    assert _clean_until_moved(choice, 1.2) == pytest.approx(1.2 + PROBE_FIRST_S)
    assert choice.layer.name == HIGH


def test_an_estimate_that_falls_under_the_rate_goes_down_one_that_climbs_does_not() -> None:
    choice = LayerChoice(LAYERS, now=0.0)
    assert choice.feedback(2.0, remb_bps=780_000) is None  # just under what it receives
    assert choice.feedback(2.5, remb_bps=300_000).name == LOW
    choice = LayerChoice(LAYERS, now=0.0)
    assert choice.feedback(2.0, remb_bps=200_000) is None  # climbing from a lower rate
    assert choice.feedback(2.5, remb_bps=300_000) is None


def test_a_link_that_loses_at_random_is_not_probed_and_a_failed_probe_waits_longer() -> None:
    choice = LayerChoice(LAYERS, now=0.0)
    choice.feedback(2.0, loss=0.5)
    assert all(choice.feedback(2.0 + n, loss=0.05) is None for n in range(1, 60))  # poor: stays
    choice = LayerChoice(LAYERS, now=0.0)
    choice.feedback(2.0, loss=0.5)
    probe = _clean_until_moved(choice, 2.0)
    assert choice.feedback(probe + 1.5, loss=0.3).name == LOW  # it failed
    assert _clean_until_moved(choice, probe + 1.5) >= probe + 1.5 + 2 * PROBE_FIRST_S
    assert choice.layer.name == HIGH


def test_a_choice_can_start_lower_and_probes_up_from_there() -> None:
    choice = LayerChoice(LAYERS, now=0.0, start=LOW)
    assert choice.layer.name == LOW
    assert _clean_until_moved(choice, 0.0) == pytest.approx(PROBE_FIRST_S)
    assert choice.layer.name == HIGH


async def test_a_viewers_new_link_starts_on_the_layer_its_last_one_ended_on() -> None:
    with ThreadPoolExecutor(2) as executor:
        session = AvatarSession("c1", 1, "en", EspeakSynthesizer(), executor,
                                SessionConfig(size=128), on_failure=lambda *_: None)
        session.start()
        try:
            phone = session.add_viewer("phone", True)
            session.set_layer(phone, LOW)
            session.remove_viewer(phone)  # its link failed; the page makes another
            again, desk = session.add_viewer("phone", True), session.add_viewer("desk", False)
            assert (again.layer, desk.layer) == (LOW, HIGH)
            packets = [await asyncio.wait_for(again.video.recv(), 10) for _ in range(3)]
            assert _decoded_size(packets) == (64, 64)  # from its first packet on
        finally:
            await session.close()


async def test_each_viewer_gets_its_own_layer_from_a_keyframe_of_it() -> None:
    with ThreadPoolExecutor(2) as executor:
        session = AvatarSession("c1", 1, "en", EspeakSynthesizer(), executor,
                                SessionConfig(size=128), on_failure=lambda *_: None)
        session.start()
        phone, desk = session.add_viewer("phone", True), session.add_viewer("desk", False)
        try:
            first = await asyncio.wait_for(phone.video.recv(), 10)
            session.set_layer(phone, LOW)
            packets = [first] + [await asyncio.wait_for(phone.video.recv(), 10) for _ in range(3)]
            assert _decoded_size(packets[1:]) == (64, 64)  # from the low layer's keyframe
            assert _decoded_size([await asyncio.wait_for(desk.video.recv(), 10)
                                  for _ in range(3)]) == (128, 128)
        finally:
            await session.close()
