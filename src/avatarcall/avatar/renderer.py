"""Draws the avatar with Skia (anti-aliased vector, or a character's PNG layers) into RGBA.

``make_renderer`` picks a character by name (``ava``, ``leo`` or a deployment's image folder)
and applies a brand palette; ``Renderer.render(pose)`` returns one frame. Blocking and
CPU-bound (a few ms at 512 x 512): callers run it in an executor. One renderer per session:
it owns its pixel buffer and is not thread-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import skia

from avatarcall.avatar.characters import (
    Character,
    CharacterError,
    Palette,
    character_names,
    load_character,
)
from avatarcall.avatar.characters.base import UNIT, color
from avatarcall.avatar.motion import FacePose

__all__ = [
    "CharacterError", "Palette", "Renderer", "character_names", "contact_sheet", "make_renderer",
    "preview", "save_png",
]


class Renderer:
    """Renders ``character`` (default Ava) at ``size`` x ``size`` over the palette's backdrop.

    ``Renderer(size)`` keeps working as before; ``palette`` here replaces the character's
    whole palette (``make_renderer`` takes overrides by name instead).
    """

    def __init__(self, size: int = 512, palette: Palette | None = None,
                 character: Character | None = None) -> None:
        if size < 16:
            raise ValueError("size must be at least 16 pixels")
        self.size = size
        if character is None:
            character = load_character("ava")
            if palette is not None:
                character.palette = palette
        self.character = character
        self.palette = character.palette
        self._pixels = np.zeros((size, size, 4), dtype=np.uint8)
        self._surface = skia.Surface(self._pixels)  # draws straight into ``_pixels``
        self._backdrop = self._make_backdrop()
        self._frame = self._pixels.view()  # what draw() hands out: the same pixels, read-only
        self._frame.flags.writeable = False

    def _make_backdrop(self) -> np.ndarray:
        """The background, drawn once: a vertical gradient and a soft disc behind the head.
        Each frame starts from a copy of it, which costs far less than drawing it."""
        p = self.palette
        canvas = self._surface.getCanvas()
        canvas.save()
        canvas.scale(self.size / UNIT, self.size / UNIT)
        shader = skia.GradientShader.MakeLinear(
            [skia.Point(0, 0), skia.Point(0, UNIT)],
            [color(p.background_top), color(p.background_bottom)])
        canvas.drawPaint(skia.Paint(Shader=shader))
        disc = skia.GradientShader.MakeRadial(
            skia.Point(UNIT / 2, UNIT * 0.47), UNIT * 0.42,
            [color(p.accent, 0.55), color(p.accent, 0.0)], [0.45, 1.0])
        canvas.drawCircle(UNIT / 2, UNIT * 0.47, UNIT * 0.42,
                          skia.Paint(AntiAlias=True, Shader=disc))
        canvas.restore()
        self._surface.flushAndSubmit()
        return self._pixels.copy()

    def render(self, pose: FacePose) -> np.ndarray:
        """Return an (size, size, 4) uint8 RGBA frame (a new array each call)."""
        return self.draw(pose).copy()

    def draw(self, pose: FacePose) -> np.ndarray:
        """The frame of ``pose`` in the renderer's own pixels: read-only, and only until the
        next call (the session's loop encodes it at once; no copy of a megabyte per frame)."""
        np.copyto(self._pixels, self._backdrop)
        canvas = self._surface.getCanvas()
        canvas.save()
        canvas.scale(self.size / UNIT, self.size / UNIT)
        self.character.draw(canvas, pose)
        canvas.restore()
        self._surface.flushAndSubmit()
        return self._frame


def make_renderer(character: str = "ava", size: int = 512,
                  palette: Mapping[str, str] | None = None,
                  image_dir: Path | None = None) -> Renderer:
    """A renderer for the character called ``character``.

    ``palette`` overrides colours by name, e.g. a brand's ``{"background_top": "#fdf6ec",
    "background_bottom": "#f3d9b1", "clothes": "#8c1d40"}`` (see ``Palette`` for the names).
    ``image_dir`` holds a deployment's PNG characters (see ``characters/image.py``).
    Raises ``CharacterError`` for an unknown name or unusable images, ``ValueError`` for an
    unknown colour name.
    """
    return Renderer(size, character=load_character(character, palette, image_dir))


def contact_sheet(renderer: Renderer, poses: list[FacePose], columns: int = 4) -> np.ndarray:
    """The frames of ``poses`` side by side (rows of ``columns``), e.g. to preview a palette."""
    size = renderer.size
    rows = -(-len(poses) // columns)
    sheet = np.zeros((rows * size, columns * size, 4), dtype=np.uint8)
    sheet[..., 3] = 255
    for i, pose in enumerate(poses):
        y, x = divmod(i, columns)
        sheet[y * size:(y + 1) * size, x * size:(x + 1) * size] = renderer.render(pose)
    return sheet


def preview(character: str = "ava", size: int = 256, palette: Mapping[str, str] | None = None,
            image_dir: Path | None = None) -> np.ndarray:
    """A contact sheet of a character: every viseme, a blink, a glance with raised brows and a
    blend (how ``docs/avatar-*.png`` are made; handy to check a brand palette)::

        save_png(preview("leo", palette={"clothes": "#8c1d40"}), "leo-brand.png")
    """
    from avatarcall.avatar.visemes import VISEMES, Viseme, one_hot

    poses = [FacePose(visemes=one_hot(v), smile=1.0 if v is Viseme.REST else 0.3)
             for v in VISEMES]
    poses += [
        FacePose(blink=1.0, smile=1.0),
        FacePose(gaze_x=0.7, gaze_y=-0.2, brow=1.0, turn=0.7, tilt=3.0,
                 visemes=one_hot(Viseme.OPEN), smile=0.3),
        FacePose(visemes={Viseme.OPEN: 0.5, Viseme.ROUND: 0.5}, gaze_x=-0.5, turn=-0.5, tilt=-2.0),
    ]
    return contact_sheet(make_renderer(character, size, palette, image_dir), poses, 4)


def save_png(rgba: np.ndarray, path: Path | str) -> None:
    """Write an RGBA frame (or sheet) as PNG."""
    image = skia.Image.fromarray(np.ascontiguousarray(rgba),
                                 colorType=skia.ColorType.kRGBA_8888_ColorType)
    data = image.encodeToData(skia.EncodedImageFormat.kPNG, 100)
    if data is None:
        raise OSError(f"could not encode {path} as PNG")
    Path(path).write_bytes(bytes(data))
