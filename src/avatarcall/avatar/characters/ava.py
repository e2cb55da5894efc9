"""Ava: shoulder-length side-swept hair, teal blazer over a white blouse, a fine necklace."""

from __future__ import annotations

import skia

from avatarcall.avatar.characters.base import Palette, color, fill, mix, stroke
from avatarcall.avatar.characters.face import CX, FaceGeometry, VectorCharacter
from avatarcall.avatar.characters.mouth import MouthShape, MouthStyle
from avatarcall.avatar.motion import FacePose


class Ava(VectorCharacter):
    name = "ava"
    default_palette = Palette(
        skin="#f3c9a8",
        skin_shadow="#e2a987",
        blush="#f28e84",
        hair="#5b3426",
        hair_shadow="#3f2219",
        hair_highlight="#8a5640",
        brows="#4a2a1f",
        iris="#3f7f86",
        lash="#2a1714",
        lips="#d4706e",
        lips_shadow="#b2524f",
        clothes="#1f6f78",
        clothes_shadow="#175760",
        shirt="#fbf8f3",
        shirt_shadow="#e4ddd2",
        detail="#e3b95e",
    )
    geometry = FaceGeometry(jaw=66.0, chin=372.0, eye_h=13.0, brow_thick=4.2, lashes=True,
                            neck_w=27.0)
    mouth_style = MouthStyle(lip_alpha=1.0, outline=1.2, highlight=0.4)

    def draw_ears(self, canvas: skia.Canvas, pose: FacePose) -> None:
        """Hidden under her hair."""

    def draw_back_hair(self, canvas: skia.Canvas, pose: FacePose) -> None:
        pal = self.palette
        p = skia.Path()
        p.moveTo(CX, 86)
        p.cubicTo(CX + 86, 84, CX + 126, 150, CX + 124, 240)
        p.cubicTo(CX + 122, 320, CX + 140, 380, CX + 128, 440)
        p.cubicTo(CX + 118, 462, CX + 96, 460, CX + 86, 448)
        p.cubicTo(CX + 74, 458, CX + 56, 452, CX + 50, 436)
        p.lineTo(CX - 50, 436)
        p.cubicTo(CX - 56, 452, CX - 74, 458, CX - 86, 448)
        p.cubicTo(CX - 96, 460, CX - 118, 462, CX - 128, 440)
        p.cubicTo(CX - 140, 380, CX - 122, 320, CX - 124, 240)
        p.cubicTo(CX - 126, 150, CX - 86, 84, CX, 86)
        p.close()
        canvas.drawPath(p, fill(pal.hair_shadow))
        # Ends of the hair, a touch lighter where they catch the light.
        for side in (-1, 1):
            lock = skia.Path()
            lock.moveTo(CX + side * 112, 300)
            lock.cubicTo(CX + side * 118, 360, CX + side * 122, 400, CX + side * 112, 440)
            canvas.drawPath(lock, stroke(pal.hair, 6.0, 0.8))

    def draw_body(self, canvas: skia.Canvas, pose: FacePose) -> None:
        pal = self.palette
        body = self.shoulders_path(top=416, width=206)
        canvas.drawPath(body, fill(pal.clothes))
        canvas.save()
        canvas.clipPath(body, doAntiAlias=True)
        # Blouse in the V of the blazer, and the skin of the neckline inside it.
        blouse = skia.Path()
        blouse.moveTo(CX - 62, 412)
        blouse.lineTo(CX + 62, 412)
        blouse.lineTo(CX + 30, 530)
        blouse.lineTo(CX - 30, 530)
        blouse.close()
        canvas.drawPath(blouse, fill(pal.shirt))
        neckline = skia.Path()
        neckline.moveTo(CX - 44, 412)
        neckline.lineTo(CX + 44, 412)
        neckline.cubicTo(CX + 30, 440, CX + 12, 462, CX, 472)
        neckline.cubicTo(CX - 12, 462, CX - 30, 440, CX - 44, 412)
        neckline.close()
        canvas.drawPath(neckline, fill(pal.skin))
        canvas.drawPath(neckline, stroke(pal.shirt_shadow, 2.0))
        # Lapels.
        for side in (-1, 1):
            lapel = skia.Path()
            lapel.moveTo(CX + side * 58, 414)
            lapel.cubicTo(CX + side * 70, 440, CX + side * 56, 480, CX + side * 34, 530)
            lapel.lineTo(CX + side * 74, 530)
            lapel.cubicTo(CX + side * 84, 490, CX + side * 96, 455, CX + side * 82, 420)
            lapel.close()
            canvas.drawPath(lapel, fill(pal.clothes_shadow))
            edge = skia.Path()
            edge.moveTo(CX + side * 58, 414)
            edge.cubicTo(CX + side * 70, 440, CX + side * 56, 480, CX + side * 34, 530)
            canvas.drawPath(edge, stroke(pal.clothes_shadow, 2.0))
        # Shoulder seams catch a little light.
        for side in (-1, 1):
            seam = skia.Path()
            seam.moveTo(CX + side * 120, 424)
            seam.cubicTo(CX + side * 160, 430, CX + side * 188, 450, CX + side * 198, 490)
            canvas.drawPath(seam, stroke("#ffffff", 3.0, 0.12))
        canvas.restore()
        # Necklace with a small pendant.
        chain = skia.Path()
        chain.moveTo(CX - 40, 414)
        chain.cubicTo(CX - 30, 444, CX + 30, 444, CX + 40, 414)
        canvas.drawPath(chain, stroke(pal.detail, 1.6))
        canvas.drawCircle(CX, 441, 4.2, fill(pal.detail))
        canvas.drawCircle(CX - 1.2, 439.8, 1.4, fill("#ffffff", 0.7))

    def draw_front_hair(self, canvas: skia.Canvas, pose: FacePose) -> None:
        pal = self.palette
        dx = 2.0 * pose.turn
        canvas.save()
        canvas.translate(dx, 0)
        p = skia.Path()
        p.moveTo(CX - 100, 318)
        p.cubicTo(CX - 112, 250, CX - 112, 170, CX - 84, 124)
        p.cubicTo(CX - 60, 90, CX - 20, 84, CX + 10, 86)
        p.cubicTo(CX + 70, 88, CX + 108, 126, CX + 112, 190)
        p.cubicTo(CX + 116, 240, CX + 108, 290, CX + 104, 320)
        # inner edge, back up the right side to the parting
        p.cubicTo(CX + 96, 286, CX + 90, 240, CX + 86, 200)
        p.cubicTo(CX + 82, 160, CX + 60, 128, CX + 26, 120)
        # the fringe sweeps from the parting down across the forehead to the left temple
        p.cubicTo(CX + 16, 158, CX - 24, 190, CX - 62, 200)
        p.cubicTo(CX - 76, 204, CX - 84, 200, CX - 86, 212)
        p.cubicTo(CX - 88, 220, CX - 88, 228, CX - 88, 236)
        p.cubicTo(CX - 90, 270, CX - 94, 296, CX - 100, 318)
        p.close()
        # Light falls from above: the crown is a touch lighter than the ends.
        shade = skia.GradientShader.MakeLinear(
            [skia.Point(0, 90), skia.Point(0, 320)],
            [color(mix(pal.hair, pal.hair_highlight, 0.3)), color(pal.hair),
             color(mix(pal.hair, pal.hair_shadow, 0.4))], [0.0, 0.45, 1.0])
        canvas.drawPath(p, skia.Paint(AntiAlias=True, Shader=shade))
        # Strands and shine.
        for path_pts, width, alpha in (
            (((CX + 24, 124), (CX - 4, 160), (CX - 40, 184), (CX - 76, 198)), 3.0, 0.7),
            (((CX + 40, 104), (CX - 10, 112), (CX - 60, 128), (CX - 92, 170)), 5.0, 0.45),
            (((CX + 60, 112), (CX + 90, 140), (CX + 100, 200), (CX + 102, 270)), 3.0, 0.5),
        ):
            s = skia.Path()
            s.moveTo(*path_pts[0])
            s.cubicTo(*path_pts[1], *path_pts[2], *path_pts[3])
            canvas.drawPath(s, stroke(pal.hair_highlight, width, alpha))
        part = skia.Path()
        part.moveTo(CX + 26, 120)
        part.cubicTo(CX + 30, 108, CX + 34, 98, CX + 36, 90)
        canvas.drawPath(part, stroke(pal.hair_shadow, 2.0, 0.8))
        canvas.restore()

    def draw_face_extras(self, canvas: skia.Canvas, pose: FacePose, mouth: MouthShape) -> None:
        # Shadow cast by the fringe across the forehead (which moves with the hair, not the
        # features: undo the features' parallax, keep the hair's).
        pal = self.palette
        canvas.save()
        canvas.translate(-3.0 * pose.turn, 0)
        shade = skia.Path()
        shade.moveTo(CX + 30, 128)
        shade.cubicTo(CX + 20, 164, CX - 24, 196, CX - 66, 206)
        canvas.drawPath(shade, skia.Paint(
            AntiAlias=True, Color=color(pal.skin_shadow, 0.7), Style=skia.Paint.kStroke_Style,
            StrokeWidth=7.0, MaskFilter=skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, 4.0)))
        canvas.restore()
