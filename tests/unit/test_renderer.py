"""The avatar's picture: two drawn characters and an image-folder one, mouths, eyes, palette."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest
import skia

from avatarcall.avatar.characters import CharacterError, character_names
from avatarcall.avatar.characters.face import CX, FRAMING, VectorCharacter
from avatarcall.avatar.motion import FacePose, IdleMotion
from avatarcall.avatar.renderer import Renderer, make_renderer
from avatarcall.avatar.visemes import VISEMES, Viseme, one_hot


def to_px(x: float, y: float, size: int) -> tuple[int, int]:
    """A point of the character's 512-unit drawing in pixels of a ``size`` frame."""
    s = size / 512.0
    return round((CX + (x - CX) * FRAMING) * s), round((512 - (512 - y) * FRAMING) * s)


def box(frame: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    size = frame.shape[0]
    (a, b), (c, d) = to_px(x0, y0, size), to_px(x1, y1, size)
    return frame[b:d, a:c, :3].astype(np.int16)


def mouth_region(frame: np.ndarray, character: VectorCharacter) -> np.ndarray:
    y = character.geometry.mouth_y
    return box(frame, CX - 60, y - 30, CX + 60, y + 45)


def eye_region(frame: np.ndarray, character: VectorCharacter) -> np.ndarray:
    g = character.geometry
    return box(frame, CX - g.eye_dx - 24, g.eye_y - 18, CX - g.eye_dx + 24, g.eye_y + 12)


@pytest.mark.parametrize("name", ["ava", "leo"])
@pytest.mark.parametrize("size", [512, 256])
def test_built_in_characters_render_opaque_frames_of_the_right_size(name: str, size: int) -> None:
    frame = make_renderer(name, size).render(FacePose())
    assert frame.shape == (size, size, 4) and frame.dtype == np.uint8
    assert frame[..., 3].min() == 255
    assert frame[..., :3].std() > 20  # a picture, not a flat fill


def test_the_two_characters_look_different() -> None:
    ava = make_renderer("ava", 256).render(FacePose()).astype(np.int16)
    leo = make_renderer("leo", 256).render(FacePose()).astype(np.int16)
    assert np.abs(ava - leo).mean() > 10


@pytest.mark.parametrize("name", ["ava", "leo"])
def test_each_viseme_gives_a_visibly_different_mouth(name: str) -> None:
    renderer = make_renderer(name, 512)
    character = renderer.character
    assert isinstance(character, VectorCharacter)
    mouths = {v: mouth_region(renderer.render(FacePose(visemes=one_hot(v))), character)
              for v in VISEMES}
    for a, b in itertools.combinations(VISEMES, 2):
        changed = (np.abs(mouths[a] - mouths[b]).max(axis=2) > 40).sum()
        assert changed > 40, f"{a} and {b} look alike ({changed} pixels differ)"


@pytest.mark.parametrize("name", ["ava", "leo"])
def test_blended_visemes_lie_between_the_two_shapes(name: str) -> None:
    renderer = make_renderer(name, 256)
    character = renderer.character
    assert isinstance(character, VectorCharacter)
    closed = mouth_region(renderer.render(FacePose(visemes=one_hot(Viseme.CLOSED))), character)
    wide = mouth_region(renderer.render(FacePose(visemes=one_hot(Viseme.WIDE))), character)
    half = mouth_region(renderer.render(FacePose(
        visemes={Viseme.CLOSED: 0.5, Viseme.WIDE: 0.5})), character)
    assert 0 < np.abs(half - closed).mean() < np.abs(wide - closed).mean()


@pytest.mark.parametrize("name", ["ava", "leo"])
def test_a_blink_closes_the_eyes_and_the_eyes_move(name: str) -> None:
    renderer = make_renderer(name, 512)
    character = renderer.character
    assert isinstance(character, VectorCharacter)

    def white(pose: FacePose) -> int:
        eye = eye_region(renderer.render(pose), character)
        return int((eye.min(axis=2) > 235).sum())

    assert white(FacePose()) > 40
    assert white(FacePose(blink=1.0)) < 5
    assert white(FacePose()) > white(FacePose(blink=0.6)) > white(FacePose(blink=1.0))
    ahead = eye_region(renderer.render(FacePose()), character)
    aside = eye_region(renderer.render(FacePose(gaze_x=1.0)), character)
    assert (np.abs(ahead - aside).max(axis=2) > 60).sum() > 30


def test_eyebrows_lift() -> None:
    renderer = make_renderer("leo", 512)
    character = renderer.character
    assert isinstance(character, VectorCharacter)
    g = character.geometry
    region = (CX - 80, g.brow_y - 20, CX + 80, g.brow_y + 10)
    down = box(renderer.render(FacePose()), *region)
    up = box(renderer.render(FacePose(brow=1.0)), *region)
    assert (np.abs(down - up).max(axis=2) > 60).sum() > 50


def test_a_brand_palette_recolours_background_and_clothes() -> None:
    plain = make_renderer("ava", 128).render(FacePose())
    brand = make_renderer("ava", 128, {"background_top": "#ff0000", "clothes": "#00ff00"}).render(
        FacePose())
    assert np.abs(brand[1, 1, :3].astype(int) - (255, 0, 0)).max() < 8
    assert np.abs(plain[1, 1, :3].astype(int) - (255, 0, 0)).max() > 100
    assert (brand[120:, :, 1] > 200).sum() > 200  # a green jacket at the bottom of the frame
    with pytest.raises(ValueError, match="unknown palette"):
        make_renderer("ava", 128, {"jacket_colour": "#000000"})
    with pytest.raises(ValueError, match="colour"):
        make_renderer("ava", 128, {"clothes": "green"})


def test_unknown_character_is_refused_with_the_names_available() -> None:
    with pytest.raises(CharacterError, match="ava, leo"):
        make_renderer("zed")
    assert character_names() == ["ava", "leo"]


def test_the_old_constructor_still_works() -> None:
    frame = Renderer(256).render(FacePose(mouth=0.7))
    assert frame.shape == (256, 256, 4)


# --- image characters ------------------------------------------------------------------------

LAYER = 200


def _png(path: Path, draw) -> None:  # type: ignore[no-untyped-def]
    surface = skia.Surface(LAYER, LAYER)
    with surface as canvas:
        canvas.clear(skia.ColorTRANSPARENT)
        draw(canvas)
    surface.makeImageSnapshot().save(str(path), skia.kPNG)


def make_image_character(folder: Path, mouths: list[Viseme] | None = None) -> Path:
    folder.mkdir(parents=True)
    paint = lambda c: skia.Paint(AntiAlias=True, Color=c)
    skin = skia.Color(240, 200, 160)
    _png(folder / "base.png", lambda c: c.drawCircle(100, 100, 80, paint(skin)))
    _png(folder / "eyes_open.png", lambda c: [c.drawCircle(x, 80, 12, paint(skia.ColorWHITE))
                                              for x in (70, 130)])
    _png(folder / "eyes_closed.png", lambda c: [c.drawRect(skia.Rect(x - 12, 79, x + 12, 82),
                                                           paint(skia.ColorBLACK))
                                                for x in (70, 130)])
    for i, v in enumerate(mouths if mouths is not None else list(VISEMES)):
        _png(folder / f"mouth_{v.value}.png",
             lambda c, i=i: c.drawOval(skia.Rect(100 - 10 - 3 * i, 135, 100 + 10 + 3 * i,
                                                 138 + 3 * i),
                                       paint(skia.Color(120 + 15 * i, 20, 40))))
    return folder


def test_an_image_folder_character_renders_blinks_and_blends_mouths(tmp_path: Path) -> None:
    make_image_character(tmp_path / "chars" / "mascot")
    assert "mascot" in character_names(tmp_path / "chars")
    renderer = make_renderer("mascot", 256, {"background_top": "#102030"},
                             image_dir=tmp_path / "chars")
    frame = renderer.render(FacePose())
    assert frame.shape == (256, 256, 4) and frame[..., 3].min() == 255
    assert tuple(frame[0, 128, :3]) == (0x10, 0x20, 0x30)
    closed = renderer.render(FacePose(blink=1.0)).astype(np.int16)
    assert np.abs(closed - frame).max() > 100  # the white eyes are gone
    rest = renderer.render(FacePose(visemes=one_hot(Viseme.REST))).astype(np.int16)
    wide = renderer.render(FacePose(visemes=one_hot(Viseme.WIDE))).astype(np.int16)
    half = renderer.render(FacePose(visemes={Viseme.REST: 0.5, Viseme.WIDE: 0.5})).astype(np.int16)
    assert np.abs(wide - rest).max() > 50
    # The blend is the weighted mean of the two mouths, pixel by pixel (within rounding).
    differs = np.abs(wide - rest).max(axis=2) > 50
    np.testing.assert_allclose(half[differs], (rest[differs] + wide[differs]) / 2, atol=4)


def test_an_image_character_can_be_the_folder_itself_and_lack_some_mouths(tmp_path: Path) -> None:
    folder = make_image_character(tmp_path / "brand", mouths=[Viseme.REST, Viseme.OPEN])
    renderer = make_renderer("brand", 128, image_dir=folder)
    a = renderer.render(FacePose(visemes=one_hot(Viseme.WIDE)))  # falls back on "open"
    b = renderer.render(FacePose(visemes=one_hot(Viseme.OPEN)))
    np.testing.assert_array_equal(a, b)


def test_an_incomplete_image_folder_is_refused(tmp_path: Path) -> None:
    folder = make_image_character(tmp_path / "broken")
    (folder / "eyes_closed.png").unlink()
    with pytest.raises(CharacterError, match="eyes_closed.png"):
        make_renderer("broken", 128, image_dir=tmp_path)


# --- motion feeds the renderer -----------------------------------------------------------------


def test_motion_carries_visemes_and_lifts_the_brows_on_stress() -> None:
    motion = IdleMotion(seed=1)
    pose = motion.pose(0.0, speaking=True, visemes=one_hot(Viseme.ROUND))
    assert pose.visemes[Viseme.ROUND] == 1.0 and pose.mouth == pytest.approx(0.6)
    brows = []
    for k in range(1, 12):
        pose = motion.pose(k * 0.04, speaking=True, visemes=one_hot(Viseme.WIDE),
                           stressed=3 <= k <= 6)
        brows.append(pose.brow)
    assert max(brows) > 0.6 and brows[0] < 0.1 and brows[-1] < max(brows)
    # The old call (a bare opening) still gives a mouth shape.
    old = IdleMotion(seed=2).pose(0.0, 0.9, True)
    assert old.visemes[Viseme.WIDE] + old.visemes[Viseme.OPEN] > 0.5


def test_the_animated_avatar_moves_frame_to_frame_and_prints_its_cost() -> None:
    for name in ("ava", "leo"):
        renderer = make_renderer(name, 512)
        motion = IdleMotion(seed=3)
        poses = [motion.pose(k / 25, speaking=True, visemes=one_hot(VISEMES[k % 9]),
                             stressed=k % 6 == 0) for k in range(50)]
        renderer.render(poses[0])
        t0 = time.perf_counter()
        frames = [renderer.render(pose) for pose in poses]
        ms = (time.perf_counter() - t0) / len(poses) * 1000
        print(f"\nrender {name} 512x512: {ms:.1f} ms/frame")
        for a, b in itertools.pairwise(frames):
            assert np.abs(a.astype(np.int16) - b).max() > 30  # alive: never a frozen frame


def test_draw_hands_out_its_own_pixels_read_only_and_render_a_copy() -> None:
    renderer = make_renderer("ava", 64)
    pose = IdleMotion().pose(0.0)
    drawn = renderer.draw(pose)
    assert not drawn.flags.writeable
    with pytest.raises(ValueError):
        drawn[0, 0, 0] = 1
    assert np.array_equal(renderer.render(pose), drawn)
    assert renderer.render(pose).flags.writeable
