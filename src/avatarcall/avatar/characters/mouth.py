"""The vector mouth: one parametric shape per viseme, blended by weight, drawn with Skia.

Blending the parameters (not the pixels) gives in-between shapes that are themselves clean
mouths, so cross-fades between visemes look like motion rather than double exposure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import skia

from avatarcall.avatar.characters.base import Palette, blurred, fill, soft_oval, stroke
from avatarcall.avatar.visemes import Viseme

KAPPA = 0.5523  # cubic Bezier approximation of a quarter circle


@dataclass(frozen=True)
class MouthShape:
    """Geometry relative to the mouth centre, in UNIT pixels (y grows downwards)."""

    w: float  # half-width of the opening
    top: float  # upper inner edge at the middle (<= 0)
    bot: float  # lower inner edge at the middle (>= 0)
    corner: float  # corners' height (negative: raised, a smile)
    round: float  # 0 a lens with sharp corners .. 1 an ellipse (O)
    ul: float  # upper lip thickness
    ll: float  # lower lip thickness
    outer: float  # how far the lips reach past the opening's corners
    teeth_up: float = 0.0  # 0..1 upper teeth showing
    teeth_low: float = 0.0  # 0..1 lower teeth showing
    tongue: float = 0.0  # 0..1 tongue at the floor of the mouth
    tongue_up: float = 0.0  # 0..1 tongue tip raised behind the upper teeth (L, TH)
    bite: float = 0.0  # 0..1 upper teeth resting on the lower lip (F, V)
    press: float = 0.0  # 0..1 lips pressed together (M, B, P)
    jaw: float = 0.0  # how far the chin drops


SHAPES: dict[Viseme, MouthShape] = {
    Viseme.REST: MouthShape(w=24, top=0, bot=0, corner=-3.5, round=0.0, ul=5.0, ll=7.0, outer=3),
    Viseme.CLOSED: MouthShape(w=19, top=0, bot=0, corner=0.5, round=0.0, ul=3.0, ll=4.5, outer=3,
                              press=1.0),
    Viseme.SLIGHT: MouthShape(w=23, top=-2.5, bot=5, corner=-2.5, round=0.15, ul=4.5, ll=6.5,
                              outer=3, teeth_up=1.0, teeth_low=0.8, jaw=2),
    Viseme.OPEN: MouthShape(w=22, top=-5, bot=13, corner=-1.5, round=0.45, ul=4.5, ll=6.5,
                            outer=3, teeth_up=1.0, teeth_low=0.35, tongue=0.7, jaw=6),
    Viseme.WIDE: MouthShape(w=25, top=-7, bot=23, corner=-1.5, round=0.55, ul=4.0, ll=6.0,
                            outer=3, teeth_up=1.0, teeth_low=0.25, tongue=1.0, jaw=12),
    Viseme.ROUND: MouthShape(w=13, top=-8, bot=13, corner=0.5, round=1.0, ul=6.5, ll=7.5,
                             outer=4, teeth_up=0.45, tongue=0.4, jaw=7),
    Viseme.PURSED: MouthShape(w=7, top=-3.5, bot=4, corner=0.5, round=1.0, ul=7.5, ll=8.0,
                              outer=5),
    Viseme.FV: MouthShape(w=22, top=-2, bot=1.5, corner=-1.5, round=0.1, ul=4.5, ll=4.5, outer=3,
                          bite=1.0, jaw=1),
    Viseme.LTH: MouthShape(w=22, top=-4.5, bot=10, corner=-1.5, round=0.4, ul=4.5, ll=6.5,
                           outer=3, teeth_up=1.0, teeth_low=0.3, tongue_up=1.0, jaw=5),
}

_FIELDS = [f.name for f in fields(MouthShape)]


def blend(weights: Mapping[Viseme, float], smile: float = 0.0) -> MouthShape:
    """The weighted mean of the viseme shapes; ``smile`` lifts the corners at rest."""
    total = sum(max(0.0, w) for w in weights.values()) or 1.0
    acc = dict.fromkeys(_FIELDS, 0.0)
    for viseme, w in weights.items():
        if w <= 0.0:
            continue
        shape = SHAPES[viseme]
        for name in _FIELDS:
            acc[name] += getattr(shape, name) * (w / total)
    rest = max(0.0, weights.get(Viseme.REST, 0.0)) / total
    acc["corner"] -= 2.0 * smile * rest
    acc["w"] += 1.5 * smile * rest
    return MouthShape(**acc)


@dataclass(frozen=True)
class MouthStyle:
    """How a character's lips look: full coloured lips or a subtle, skin-toned mouth."""

    lip_alpha: float = 1.0  # 1: lips in ``lips``; lower blends them into the skin
    outline: float = 1.3  # width of the line along the opening and the seam
    highlight: float = 0.35  # gloss on the lower lip


def _opening_path(s: MouthShape, cx: float, cy: float) -> skia.Path:
    """The inner opening: a lens (round=0) to an ellipse (round=1) through four points."""
    w, top, bot = s.w, s.top, s.bot
    cy_c = cy + s.corner * 0.8
    k_side = KAPPA * s.round
    k_mid = KAPPA + 0.3 * (1.0 - s.round)
    left, right = (cx - w, cy_c), (cx + w, cy_c)
    p = skia.Path()
    p.moveTo(*left)
    p.cubicTo(left[0], cy_c + (cy + top - cy_c) * k_side, cx - w * k_mid, cy + top, cx, cy + top)
    p.cubicTo(cx + w * k_mid, cy + top, right[0], cy_c + (cy + top - cy_c) * k_side, *right)
    p.cubicTo(right[0], cy_c + (cy + bot - cy_c) * k_side, cx + w * k_mid, cy + bot, cx, cy + bot)
    p.cubicTo(cx - w * k_mid, cy + bot, left[0], cy_c + (cy + bot - cy_c) * k_side, *left)
    p.close()
    return p


def _lips_path(s: MouthShape, cx: float, cy: float) -> tuple[skia.Path, skia.Path]:
    """Upper and lower lip outlines (each closed against the opening's middle line)."""
    half = s.w + s.outer
    cy_c = cy + s.corner
    top_out = cy + s.top - s.ul
    bot_out = cy + s.bot + s.ll
    # Upper lip: corners, two soft peaks and the dip of the cupid's bow.
    peak = min(7.0, half * 0.35)
    upper = skia.Path()
    upper.moveTo(cx - half, cy_c)
    upper.cubicTo(cx - half * 0.75, cy_c - (cy_c - top_out) * 0.45,
                  cx - peak * 2.0, top_out - 0.5, cx - peak, top_out - 0.5)
    upper.quadTo(cx - peak * 0.35, top_out - 0.5, cx, top_out + 1.8)
    upper.quadTo(cx + peak * 0.35, top_out - 0.5, cx + peak, top_out - 0.5)
    upper.cubicTo(cx + peak * 2.0, top_out - 0.5, cx + half * 0.75,
                  cy_c - (cy_c - top_out) * 0.45, cx + half, cy_c)
    upper.cubicTo(cx + half * 0.6, cy + s.top * 0.6 + s.corner * 0.3, cx - half * 0.6,
                  cy + s.top * 0.6 + s.corner * 0.3, cx - half, cy_c)
    upper.close()
    lower = skia.Path()
    lower.moveTo(cx - half, cy_c)
    lower.cubicTo(cx - half * 0.6, cy + s.bot * 0.6 + s.corner * 0.3, cx + half * 0.6,
                  cy + s.bot * 0.6 + s.corner * 0.3, cx + half, cy_c)
    lower.cubicTo(cx + half * (0.55 + 0.3 * s.round), bot_out, cx - half * (0.55 + 0.3 * s.round),
                  bot_out, cx - half, cy_c)
    lower.close()
    return upper, lower


def _seam_path(s: MouthShape, cx: float, cy: float) -> skia.Path:
    """The line between closed lips (follows the smile of the corners)."""
    half = s.w + s.outer * 0.4
    cy_c = cy + s.corner
    mid = cy + (s.top + s.bot) * 0.5 + 0.4 * abs(s.corner) * 0.3
    p = skia.Path()
    p.moveTo(cx - half, cy_c)
    p.cubicTo(cx - half * 0.5, mid, cx + half * 0.5, mid, cx + half, cy_c)
    return p


def draw_mouth(canvas: skia.Canvas, shape: MouthShape, palette: Palette, style: MouthStyle,
               cx: float, cy: float) -> None:
    """Draw the mouth centred at (cx, cy)."""
    s = shape
    gap = s.bot - s.top
    upper, lower = _lips_path(s, cx, cy)
    lower_paint = fill(palette.lips, style.lip_alpha * 0.9)
    upper_paint = fill(palette.lips_shadow, style.lip_alpha)
    # Soft shadow under the lower lip, on the chin.
    soft_oval(canvas, skia.Rect(cx - s.w * 0.7, cy + s.bot + s.ll - 1.0,
                                cx + s.w * 0.7, cy + s.bot + s.ll + 9.0), palette.skin_shadow, 0.6)
    canvas.drawPath(lower, lower_paint)
    canvas.drawPath(upper, upper_paint)
    if style.highlight > 0:
        soft_oval(canvas, skia.Rect(cx - s.w * 0.4, cy + s.bot + s.ll * 0.15,
                                    cx + s.w * 0.2, cy + s.bot + s.ll * 0.75), "#ffffff",
                  style.highlight * style.lip_alpha)
    if gap > 1.0:
        opening = _opening_path(s, cx, cy)
        canvas.save()
        canvas.clipPath(opening, doAntiAlias=True)
        canvas.drawPath(opening, fill(palette.mouth_inside))
        # Tongue at the floor of the mouth, and its tip raised for L / TH.
        if s.tongue > 0.02:
            rx, ry = s.w * 0.75, max(3.0, gap * 0.32)
            ty = cy + s.bot - ry * 0.55 * s.tongue + ry * 0.7
            canvas.drawOval(skia.Rect(cx - rx, ty - ry, cx + rx, ty + ry),
                            fill(palette.tongue, min(1.0, s.tongue * 1.4)))
        if s.teeth_up > 0.02:
            h = min(gap * 0.55, 3.0 + 4.5 * s.teeth_up)
            teeth = skia.Path()
            y0 = cy + s.top - 6.0
            teeth.moveTo(cx - s.w * 1.1, y0)
            teeth.lineTo(cx + s.w * 1.1, y0)
            teeth.lineTo(cx + s.w * 1.1, cy + s.top + h * 0.55)
            teeth.quadTo(cx, cy + s.top + h * 1.35, cx - s.w * 1.1, cy + s.top + h * 0.55)
            teeth.close()
            canvas.drawPath(teeth, fill(palette.teeth))
        if s.teeth_low > 0.02:
            h = min(gap * 0.35, 1.5 + 3.5 * s.teeth_low)
            teeth = skia.Path()
            y1 = cy + s.bot + 6.0
            teeth.moveTo(cx - s.w * 0.8, y1)
            teeth.lineTo(cx + s.w * 0.8, y1)
            teeth.lineTo(cx + s.w * 0.8, cy + s.bot - h * 0.4)
            teeth.quadTo(cx, cy + s.bot - h * 1.3, cx - s.w * 0.8, cy + s.bot - h * 0.4)
            teeth.close()
            canvas.drawPath(teeth, fill(palette.teeth, 0.95))
        if s.tongue_up > 0.02:
            # L / TH: the tip of the tongue touches the upper teeth.
            rx, ry = min(9.0, s.w * 0.42), min(6.0, max(2.5, gap * 0.32))
            ty = cy + s.top + min(gap * 0.55, 3.0 + 4.5 * s.teeth_up) + ry * 0.35
            canvas.drawOval(skia.Rect(cx - rx, ty - ry, cx + rx, ty + ry),
                            fill(palette.tongue, min(1.0, s.tongue_up * 1.3)))
        # Depth: the top of the cavity is in the shadow of the upper lip.
        canvas.drawRect(skia.Rect(cx - s.w - 2, cy + s.top - 6, cx + s.w + 2, cy + s.top + 1.5),
                        blurred(palette.mouth_inside, 0.35, 1.5))
        canvas.restore()
        canvas.drawPath(opening, stroke(palette.lips_shadow, style.outline, 0.9))
    else:
        width = style.outline * (1.0 + 0.6 * s.press)
        canvas.drawPath(_seam_path(s, cx, cy), stroke(palette.lips_shadow, width, 1.0))
    if s.bite > 0.02:
        # F / V: the upper teeth rest on the lower lip.
        h = 4.5 * s.bite
        bw = s.w * 0.55
        teeth = skia.Path()
        y0 = cy + s.top - 1.0
        teeth.moveTo(cx - bw, y0)
        teeth.lineTo(cx + bw, y0)
        teeth.lineTo(cx + bw, y0 + h * 0.7)
        teeth.quadTo(cx, y0 + h * 1.5, cx - bw, y0 + h * 0.7)
        teeth.close()
        canvas.drawPath(teeth, fill(palette.teeth, min(1.0, s.bite * 1.5)))
        canvas.drawPath(teeth, stroke(palette.lips_shadow, 0.9, 0.6 * s.bite))
    # Dimples at the corners of a smile, and a crease when lips press.
    if s.corner < -2.5 or s.press > 0.2:
        alpha = min(0.6, 0.15 * max(0.0, -s.corner - 2.0) + 0.5 * s.press)
        half = s.w + s.outer
        for side in (-1, 1):
            x = cx + side * (half + 2.5)
            p = skia.Path()
            p.moveTo(x - side * 1.0, cy + s.corner - 3.0)
            p.quadTo(x + side * 1.5, cy + s.corner, x - side * 0.5, cy + s.corner + 3.0)
            canvas.drawPath(p, stroke(palette.skin_shadow, 1.4, alpha))
