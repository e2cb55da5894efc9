"""Leo: short textured hair, a trimmed beard line, navy jacket over a light blue shirt."""

from __future__ import annotations

import skia

from avatarcall.avatar.characters.base import Palette, color, fill, stroke
from avatarcall.avatar.characters.face import CX, FaceGeometry, VectorCharacter
from avatarcall.avatar.characters.mouth import MouthShape, MouthStyle
from avatarcall.avatar.motion import FacePose


class Leo(VectorCharacter):
    name = "leo"
    default_palette = Palette(
        background_top="#eef2ea",
        background_bottom="#c6d5c3",
        skin="#c98f68",
        skin_shadow="#ad7553",
        blush="#c9736a",
        hair="#2b201c",
        hair_shadow="#1d1512",
        hair_highlight="#4a3a33",
        brows="#261b17",
        iris="#5b3b26",
        lash="#1f1613",
        lips="#b56d5e",
        lips_shadow="#8f5045",
        clothes="#2e3f5c",
        clothes_shadow="#243249",
        shirt="#dce9f6",
        shirt_shadow="#b9cbe0",
        detail="#f3f5f7",
    )
    geometry = FaceGeometry(temple=90.0, jaw=80.0, jaw_y=332.0, chin=380.0, chin_w=34.0,
                            eye_h=11.0, eye_w=18.5, brow_y=221.0, brow_w=24.0, brow_thick=6.5,
                            neck_w=38.0, mouth_y=332.0)
    mouth_style = MouthStyle(lip_alpha=0.75, outline=1.4, highlight=0.15)

    def draw_body(self, canvas: skia.Canvas, pose: FacePose) -> None:
        pal = self.palette
        body = self.shoulders_path(top=418, width=216)
        canvas.drawPath(body, fill(pal.clothes))
        canvas.save()
        canvas.clipPath(body, doAntiAlias=True)
        shirt = skia.Path()
        shirt.moveTo(CX - 60, 410)
        shirt.lineTo(CX + 60, 410)
        shirt.lineTo(CX + 24, 530)
        shirt.lineTo(CX - 24, 530)
        shirt.close()
        canvas.drawPath(shirt, fill(pal.shirt))
        # Open collar: skin in the opening, collar points either side.
        opening = skia.Path()
        opening.moveTo(CX - 36, 414)
        opening.lineTo(CX + 36, 414)
        opening.lineTo(CX, 458)
        opening.close()
        canvas.drawPath(opening, fill(pal.skin))
        for side in (-1, 1):
            collar = skia.Path()
            collar.moveTo(CX + side * 36, 404)
            collar.lineTo(CX + side * 2, 460)
            collar.lineTo(CX + side * 30, 462)
            collar.lineTo(CX + side * 62, 420)
            collar.close()
            canvas.drawPath(collar, fill(pal.shirt))
            canvas.drawPath(collar, stroke(pal.shirt_shadow, 2.0))
            lapel = skia.Path()
            lapel.moveTo(CX + side * 64, 416)
            lapel.cubicTo(CX + side * 70, 450, CX + side * 50, 490, CX + side * 28, 530)
            lapel.lineTo(CX + side * 76, 530)
            lapel.cubicTo(CX + side * 86, 488, CX + side * 100, 452, CX + side * 88, 420)
            lapel.close()
            canvas.drawPath(lapel, fill(pal.clothes_shadow))
            seam = skia.Path()
            seam.moveTo(CX + side * 124, 426)
            seam.cubicTo(CX + side * 166, 432, CX + side * 196, 452, CX + side * 206, 492)
            canvas.drawPath(seam, stroke("#ffffff", 3.0, 0.1))
        canvas.drawCircle(CX, 488, 2.6, fill(pal.shirt_shadow))
        canvas.drawCircle(CX, 514, 2.6, fill(pal.shirt_shadow))
        canvas.restore()

    def draw_front_hair(self, canvas: skia.Canvas, pose: FacePose) -> None:
        pal = self.palette
        canvas.save()
        canvas.translate(1.5 * pose.turn, 0)
        p = skia.Path()
        # Outline over the skull: volume swept up and to his left, sides cut short.
        p.moveTo(CX - 86, 236)
        p.cubicTo(CX - 92, 206, CX - 98, 170, CX - 92, 136)
        p.cubicTo(CX - 86, 106, CX - 62, 88, CX - 30, 84)
        p.cubicTo(CX + 4, 70, CX + 62, 70, CX + 88, 96)
        p.cubicTo(CX + 104, 114, CX + 100, 160, CX + 96, 190)
        p.cubicTo(CX + 93, 210, CX + 90, 226, CX + 87, 236)
        # Hairline back, right to left: sideburn, temple, the front wave, the parting.
        p.lineTo(CX + 83, 236)
        p.cubicTo(CX + 84, 206, CX + 84, 182, CX + 76, 166)
        p.cubicTo(CX + 66, 150, CX + 46, 140, CX + 18, 140)
        p.cubicTo(CX - 6, 140, CX - 26, 146, CX - 40, 152)
        p.cubicTo(CX - 52, 146, CX - 64, 150, CX - 74, 162)
        p.cubicTo(CX - 84, 180, CX - 84, 208, CX - 82, 236)
        p.close()
        # Short back and sides: the hair thins out towards the ears.
        fade = skia.GradientShader.MakeLinear(
            [skia.Point(0, 150), skia.Point(0, 240)],
            [color(pal.hair), color(pal.hair, 0.55)])
        canvas.drawPath(p, skia.Paint(AntiAlias=True, Shader=fade))
        # Texture: strands swept from the parting over the top.
        for (x0, y0), (x1, y1), (x2, y2), width in (
            ((CX - 36, 146), (CX - 10, 100), (CX + 50, 84), 2.6),
            ((CX - 12, 142), (CX + 14, 104), (CX + 70, 94), 2.6),
            ((CX + 20, 142), (CX + 50, 116), (CX + 86, 116), 2.4),
            ((CX + 50, 148), (CX + 74, 136), (CX + 90, 150), 2.0),
            ((CX - 60, 152), (CX - 76, 120), (CX - 56, 96), 2.0),
        ):
            s = skia.Path()
            s.moveTo(x0, y0)
            s.quadTo(x1, y1, x2, y2)
            canvas.drawPath(s, stroke(pal.hair_highlight, width, 0.8))
        part = skia.Path()
        part.moveTo(CX - 40, 152)
        part.quadTo(CX - 46, 122, CX - 38, 92)
        canvas.drawPath(part, stroke(pal.hair_shadow, 2.2))
        canvas.restore()

    def draw_face_extras(self, canvas: skia.Canvas, pose: FacePose, mouth: MouthShape) -> None:
        """Close-trimmed stubble along the jaw and over the lip."""
        pal, g = self.palette, self.geometry
        jaw_drop = mouth.jaw
        canvas.save()
        canvas.translate(-5.0 * pose.turn, 0)  # undo the features' parallax: the jaw is the head
        canvas.clipPath(self.head_path(jaw_drop), doAntiAlias=True)
        band = skia.Path()
        chin = g.chin + jaw_drop * 0.6
        band.moveTo(CX - g.temple + 2, 262)
        band.cubicTo(CX - g.jaw, 320, CX - 40, chin - 4, CX, chin - 4)
        band.cubicTo(CX + 40, chin - 4, CX + g.jaw, 320, CX + g.temple - 2, 262)
        canvas.drawPath(band, skia.Paint(
            AntiAlias=True, Color=color(pal.hair, 0.2), Style=skia.Paint.kStroke_Style,
            StrokeWidth=30.0, MaskFilter=skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, 6.0)))
        canvas.restore()
