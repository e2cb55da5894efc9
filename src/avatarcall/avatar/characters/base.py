"""What every character shares: its palette, the drawing protocol, and Skia helpers.

Characters draw in a 512 x 512 coordinate space; the renderer scales the canvas to its size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Protocol

import skia

from avatarcall.avatar.motion import FacePose

UNIT = 512.0  # characters draw in a UNIT x UNIT space


@dataclass(frozen=True)
class Palette:
    """Colours as ``#rrggbb`` (or ``#rrggbbaa``). A deployment overrides any of them by name,
    typically the background and clothes for its brand."""

    background_top: str = "#e8f0f7"
    background_bottom: str = "#b9cde0"
    accent: str = "#ffffff"  # the soft disc behind the character
    skin: str = "#f2c6a4"
    skin_shadow: str = "#dfa684"
    blush: str = "#f08f86"
    hair: str = "#4a2f24"
    hair_shadow: str = "#34201a"
    hair_highlight: str = "#6e4636"
    brows: str = "#3e271e"
    iris: str = "#5a7d5a"
    eye_white: str = "#fbfbfa"
    lash: str = "#2a1a16"
    lips: str = "#cf6f6c"
    lips_shadow: str = "#a9504f"
    mouth_inside: str = "#5e1f26"
    teeth: str = "#fbf8f2"
    tongue: str = "#d8707a"
    clothes: str = "#2f5d7c"
    clothes_shadow: str = "#244a63"
    shirt: str = "#f7f4ee"
    shirt_shadow: str = "#ddd6cb"
    detail: str = "#e2b75a"  # jewellery, buttons

    def with_overrides(self, overrides: Mapping[str, str] | None) -> Palette:
        """A copy with some colours replaced; unknown names or malformed colours are refused."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown palette colour(s) {unknown}; known: {sorted(known)}")
        for value in overrides.values():
            color(value)  # validate
        return replace(self, **dict(overrides))


# Paints, colours and shaders are made from the same few arguments frame after frame: they are
# kept (a frame draws ~80 colours and ~40 paints; parsing and building them was a quarter of a
# frame's time). Skia paints are never changed after they are made here, so sharing is safe.


@lru_cache(maxsize=4096)
def color(value: str, alpha: float = 1.0) -> int:
    """A Skia colour from ``#rrggbb`` or ``#rrggbbaa``, with its alpha scaled by ``alpha``."""
    text = value.strip().lstrip("#")
    if len(text) not in (6, 8) or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError(f"not a #rrggbb colour: {value!r}")
    rgb = int(text[:6], 16)
    a = int(text[6:], 16) if len(text) == 8 else 255
    return skia.Color((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255,
                      max(0, min(255, round(a * alpha))))


def mix(a: str, b: str, t: float) -> str:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    ca, cb = int(a.lstrip("#")[:6], 16), int(b.lstrip("#")[:6], 16)
    out = 0
    for shift in (16, 8, 0):
        x, y = (ca >> shift) & 255, (cb >> shift) & 255
        out |= round(x + (y - x) * t) << shift
    return f"#{out:06x}"


@lru_cache(maxsize=4096)
def fill(value: str, alpha: float = 1.0) -> skia.Paint:
    return skia.Paint(AntiAlias=True, Color=color(value, alpha))


@lru_cache(maxsize=4096)
def stroke(value: str, width: float, alpha: float = 1.0) -> skia.Paint:
    return skia.Paint(AntiAlias=True, Color=color(value, alpha), Style=skia.Paint.kStroke_Style,
                      StrokeWidth=width, StrokeCap=skia.Paint.kRound_Cap,
                      StrokeJoin=skia.Paint.kRound_Join)


@lru_cache(maxsize=1024)
def blurred(value: str, alpha: float, sigma: float) -> skia.Paint:
    """A fill with soft edges, for shading."""
    return skia.Paint(AntiAlias=True, Color=color(value, alpha),
                      MaskFilter=skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, sigma))


class Character(Protocol):
    """A drawable character: ``draw`` paints one frame of ``pose`` into a UNIT-sized canvas."""

    name: str
    palette: Palette

    def draw(self, canvas: skia.Canvas, pose: FacePose) -> None: ...


def soft_oval(canvas: skia.Canvas, rect: skia.Rect, value: str, alpha: float,
              hardness: float = 0.0) -> None:
    """An oval of ``value`` fading out to its edge: cheap soft shading (no blur filter).

    ``hardness`` in [0, 1) keeps the centre solid out to that fraction of the radius.
    """
    cx, cy = rect.centerX(), rect.centerY()
    rx, ry = rect.width() / 2, rect.height() / 2
    if rx <= 0 or ry <= 0:
        return
    canvas.save()
    canvas.translate(cx, cy)
    canvas.scale(rx, ry)
    canvas.drawCircle(0, 0, 1.0, _soft_paint(value, round(alpha, 3), hardness))
    canvas.restore()


@lru_cache(maxsize=1024)
def _soft_paint(value: str, alpha: float, hardness: float) -> skia.Paint:
    shader = skia.GradientShader.MakeRadial(
        skia.Point(0, 0), 1.0, [color(value, alpha), color(value, alpha), color(value, 0.0)],
        [0.0, hardness, 1.0])
    return skia.Paint(AntiAlias=True, Shader=shader)
