"""Draws the avatar with Skia (anti-aliased vector) into an RGBA array.

Blocking and CPU-bound: callers run it in an executor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import skia

from avatarcall.avatar.motion import FacePose


def _rgb(hex_color: str) -> int:
    value = int(hex_color.lstrip("#"), 16)
    return skia.Color((value >> 16) & 255, (value >> 8) & 255, value & 255)


@dataclass(frozen=True)
class Palette:
    background_top: str = "#dfe9f3"
    background_bottom: str = "#a9c1d9"
    skin: str = "#f1c7a5"
    skin_shadow: str = "#dca681"
    hair: str = "#3b2a20"
    jacket: str = "#2f4a6d"
    shirt: str = "#f4f6f8"
    iris: str = "#4a6b8a"
    lips: str = "#b8605a"
    mouth_inside: str = "#5a1f22"


class Renderer:
    """One instance per avatar session (it owns its Skia surface)."""

    def __init__(self, size: int = 512, palette: Palette | None = None) -> None:
        self.size = size
        self.palette = palette or Palette()
        self._surface = skia.Surface(size, size)
        p = self.palette
        self._c = {name: _rgb(getattr(p, name)) for name in p.__dataclass_fields__}

    def _paint(self, color: str, **kw: object) -> skia.Paint:
        return skia.Paint(AntiAlias=True, Color=self._c[color], **kw)

    def render(self, pose: FacePose) -> np.ndarray:
        """Return an (size, size, 4) uint8 RGBA frame."""
        with self._surface as canvas:
            self._draw(canvas, pose)
        return self._surface.makeImageSnapshot().toarray(colorType=skia.ColorType.kRGBA_8888_ColorType)

    def _draw(self, canvas: skia.Canvas, pose: FacePose) -> None:
        c = self._c
        s = self.size / 512.0
        canvas.save()
        canvas.scale(s, s)
        shader = skia.GradientShader.MakeLinear(
            [skia.Point(0, 0), skia.Point(0, 512)], [c["background_top"], c["background_bottom"]]
        )
        canvas.drawPaint(skia.Paint(Shader=shader))

        lift = -4.0 * pose.breathe
        # Shoulders and jacket.
        body = skia.Path()
        body.moveTo(40, 512)
        body.cubicTo(50, 420 + lift, 150, 392 + lift, 256, 392 + lift)
        body.cubicTo(362, 392 + lift, 462, 420 + lift, 472, 512)
        body.close()
        canvas.drawPath(body, self._paint("jacket"))
        collar = skia.Path()
        collar.moveTo(206, 392 + lift)
        collar.lineTo(256, 470 + lift)
        collar.lineTo(306, 392 + lift)
        collar.close()
        canvas.drawPath(collar, self._paint("shirt"))
        canvas.drawRect(skia.Rect(228, 330 + lift, 284, 398 + lift), self._paint("skin_shadow"))

        canvas.save()
        canvas.translate(pose.head_x, pose.head_y + lift * 0.5)
        canvas.rotate(pose.tilt, 256, 330)
        # Hair behind, head, ears.
        canvas.drawOval(skia.Rect(142, 82, 370, 330), self._paint("hair"))
        canvas.drawOval(skia.Rect(146, 212, 178, 262), self._paint("skin_shadow"))
        canvas.drawOval(skia.Rect(334, 212, 366, 262), self._paint("skin_shadow"))
        canvas.drawOval(skia.Rect(160, 110, 352, 350), self._paint("skin"))
        fringe = skia.Path()
        fringe.moveTo(158, 200)
        fringe.cubicTo(160, 110, 240, 88, 300, 104)
        fringe.cubicTo(340, 116, 358, 160, 354, 200)
        fringe.cubicTo(320, 150, 250, 140, 158, 200)
        fringe.close()
        canvas.drawPath(fringe, self._paint("hair"))

        self._draw_eyes(canvas, pose)
        # Eyebrows lift a little on stressed syllables.
        brow_y = 190 - 6 * pose.brow
        brow = self._paint("hair", Style=skia.Paint.kStroke_Style, StrokeWidth=7,
                           StrokeCap=skia.Paint.kRound_Cap)
        for x0, x1 in ((196, 236), (276, 316)):
            path = skia.Path()
            path.moveTo(x0, brow_y + 4)
            path.quadTo((x0 + x1) / 2, brow_y - 6, x1, brow_y + 2)
            canvas.drawPath(path, brow)
        nose = self._paint("skin_shadow", Style=skia.Paint.kStroke_Style, StrokeWidth=4,
                           StrokeCap=skia.Paint.kRound_Cap)
        nose_path = skia.Path()
        nose_path.moveTo(258, 232)
        nose_path.quadTo(268, 262, 252, 268)
        canvas.drawPath(nose_path, nose)
        self._draw_mouth(canvas, pose.mouth)
        canvas.restore()
        canvas.restore()

    def _draw_eyes(self, canvas: skia.Canvas, pose: FacePose) -> None:
        for cx in (216, 296):
            cy = 222
            open_h = 14 * (1.0 - pose.blink)
            if open_h > 1.5:
                canvas.drawOval(skia.Rect(cx - 20, cy - open_h, cx + 20, cy + open_h),
                                skia.Paint(AntiAlias=True, Color=skia.ColorWHITE))
                canvas.save()
                canvas.clipRect(skia.Rect(cx - 20, cy - open_h, cx + 20, cy + open_h))
                ix, iy = cx + 7 * pose.gaze_x, cy + 4 * pose.gaze_y
                canvas.drawCircle(ix, iy, 10, self._paint("iris"))
                canvas.drawCircle(ix, iy, 5, skia.Paint(AntiAlias=True, Color=skia.ColorBLACK))
                canvas.drawCircle(ix + 3, iy - 3, 2.5, skia.Paint(AntiAlias=True, Color=skia.ColorWHITE))
                canvas.restore()
            lid = self._paint("hair", Style=skia.Paint.kStroke_Style, StrokeWidth=3)
            path = skia.Path()
            path.moveTo(cx - 22, cy)
            path.quadTo(cx, cy - 2 * open_h - 2, cx + 22, cy)
            canvas.drawPath(path, lid)

    def _draw_mouth(self, canvas: skia.Canvas, opening: float) -> None:
        cx, cy = 256, 298
        width = 30 - 6 * opening
        height = 2 + 24 * opening
        if height > 4:
            inside = skia.Rect(cx - width, cy - height / 2, cx + width, cy + height / 2)
            canvas.drawOval(inside, self._paint("mouth_inside"))
            canvas.save()
            canvas.clipRect(inside)
            canvas.drawRect(skia.Rect(cx - width, cy - height / 2, cx + width, cy - height / 2 + 6),
                            skia.Paint(AntiAlias=True, Color=skia.ColorWHITE))
            canvas.restore()
            canvas.drawOval(inside, self._paint("lips", Style=skia.Paint.kStroke_Style, StrokeWidth=4))
        else:
            smile = skia.Path()
            smile.moveTo(cx - width, cy - 2)
            smile.quadTo(cx, cy + 10, cx + width, cy - 2)
            canvas.drawPath(smile, self._paint("lips", Style=skia.Paint.kStroke_Style,
                                               StrokeWidth=5, StrokeCap=skia.Paint.kRound_Cap))
