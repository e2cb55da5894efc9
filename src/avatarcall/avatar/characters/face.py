"""The vector head-and-shoulders character: the parts every drawn character shares.

Subclasses (``ava.py``, ``leo.py``) draw hair, clothes and what makes them themselves; this
class draws the backdrop-free figure in layers (back hair, body, neck, head, ears, face
details, front hair) and applies the pose: breathing, head sway and tilt, a slight turn with
parallax, eyes with lids and highlights that look around and blink, eyebrows, and the mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

import skia

from avatarcall.avatar.characters.base import Palette, blurred, color, fill, mix, soft_oval, stroke
from avatarcall.avatar.characters.mouth import MouthShape, MouthStyle, blend, draw_mouth
from avatarcall.avatar.motion import FacePose

CX = 256.0  # the figure's vertical axis
NECK_PIVOT = (256.0, 400.0)  # the head tilts around the base of the neck
FRAMING = 1.08  # the figure is drawn a little larger than its coordinates, from the bottom


@dataclass(frozen=True)
class FaceGeometry:
    """Where the features sit, in UNIT pixels; subclasses adjust a few of them."""

    top: float = 118.0  # top of the skull
    temple: float = 88.0  # half-width at the temples
    cheek_y: float = 262.0
    jaw: float = 70.0  # half-width at the jaw
    jaw_y: float = 330.0
    chin: float = 376.0  # bottom of the chin
    chin_w: float = 22.0  # half-width of the chin's rounded tip
    eye_y: float = 252.0
    eye_dx: float = 41.0  # from the axis to each eye's centre
    eye_w: float = 19.0  # half-width of an eye
    eye_h: float = 12.0  # height of the upper lid's arc
    iris_r: float = 10.0
    brow_y: float = 222.0
    brow_w: float = 22.0
    brow_thick: float = 5.0
    nose_y: float = 296.0
    mouth_y: float = 330.0
    ear_y: float = 262.0
    neck_w: float = 30.0  # half-width of the neck
    lashes: bool = False


class VectorCharacter:
    """Base class of the drawn characters (one instance per renderer; not thread-safe)."""

    name = "vector"
    default_palette = Palette()
    geometry = FaceGeometry()
    mouth_style = MouthStyle()

    def __init__(self, palette: Palette | None = None) -> None:
        self.palette = palette or self.default_palette

    # --- the frame ---------------------------------------------------------------------

    def draw(self, canvas: skia.Canvas, pose: FacePose) -> None:
        lift = -3.0 * pose.breathe  # shoulders rise as the chest fills
        mouth = blend(pose.visemes, pose.smile)
        canvas.save()
        # Head and shoulders fill the frame: scale up around the bottom centre.
        canvas.translate(CX, 512.0)
        canvas.scale(FRAMING, FRAMING)
        canvas.translate(-CX, -512.0)
        canvas.save()
        canvas.translate(pose.head_x * 0.5, pose.head_y * 0.5 + lift * 0.6)
        canvas.rotate(pose.tilt, *NECK_PIVOT)
        self.draw_back_hair(canvas, pose)
        canvas.restore()

        canvas.save()
        canvas.translate(0, lift)
        self.draw_body(canvas, pose)
        canvas.restore()

        canvas.save()
        canvas.translate(pose.head_x * 0.25, lift * 0.8)
        self.draw_neck(canvas, pose, mouth)
        canvas.restore()

        canvas.save()
        canvas.translate(pose.head_x, pose.head_y + lift * 0.6)
        canvas.rotate(pose.tilt, *NECK_PIVOT)
        self.draw_ears(canvas, pose)
        self.draw_head(canvas, pose, mouth)
        self.draw_front_hair(canvas, pose)
        canvas.restore()
        canvas.restore()

    # --- layers, back to front -----------------------------------------------------------

    def draw_back_hair(self, canvas: skia.Canvas, pose: FacePose) -> None:
        """Hair behind the head and neck (long hair)."""

    def draw_body(self, canvas: skia.Canvas, pose: FacePose) -> None:
        """Shoulders and clothes."""

    def draw_front_hair(self, canvas: skia.Canvas, pose: FacePose) -> None:
        """Hair in front of the face (fringe, locks)."""

    def draw_face_extras(self, canvas: skia.Canvas, pose: FacePose, mouth: MouthShape) -> None:
        """Beard, freckles, glasses...: drawn over the face, under the front hair."""

    def shoulders_path(self, top: float = 420.0, width: float = 212.0) -> skia.Path:
        """The outline of the shoulders and chest, ending below the frame."""
        g = self.geometry
        p = skia.Path()
        p.moveTo(CX - width, 530)
        p.cubicTo(CX - width, 470, CX - width + 20, top + 14, CX - g.neck_w - 44, top)
        p.lineTo(CX + g.neck_w + 44, top)
        p.cubicTo(CX + width - 20, top + 14, CX + width, 470, CX + width, 530)
        p.close()
        return p

    def draw_neck(self, canvas: skia.Canvas, pose: FacePose, mouth: MouthShape) -> None:
        g, pal = self.geometry, self.palette
        neck = skia.Path()
        neck.moveTo(CX - g.neck_w, g.jaw_y - 10)
        neck.lineTo(CX + g.neck_w, g.jaw_y - 10)
        neck.cubicTo(CX + g.neck_w, 392, CX + g.neck_w + 6, 412, CX + g.neck_w + 22, 428)
        neck.lineTo(CX - g.neck_w - 22, 428)
        neck.cubicTo(CX - g.neck_w - 6, 412, CX - g.neck_w, 392, CX - g.neck_w, g.jaw_y - 10)
        neck.close()
        canvas.drawPath(neck, fill(pal.skin))
        # The head's shadow on the neck, following the jaw.
        canvas.save()
        canvas.clipPath(neck, doAntiAlias=True)
        shade = skia.Path()
        shade.moveTo(CX - g.neck_w - 10, g.jaw_y - 20)
        shade.lineTo(CX + g.neck_w + 10, g.jaw_y - 20)
        shade.lineTo(CX + g.neck_w + 10, g.chin - 8)
        low = g.chin + 24 + mouth.jaw * 0.5
        shade.cubicTo(CX + 18, low, CX - 18, low, CX - g.neck_w - 10, g.chin - 8)
        shade.close()
        canvas.drawPath(shade, blurred(pal.skin_shadow, 1.0, 3.0))
        canvas.restore()

    def head_path(self, jaw_drop: float = 0.0) -> skia.Path:
        g = self.geometry
        chin = g.chin + jaw_drop * 0.6
        jaw_y = g.jaw_y + jaw_drop * 0.3
        p = skia.Path()
        p.moveTo(CX, g.top)
        p.cubicTo(CX + g.temple * 0.62, g.top, CX + g.temple, g.top + 44, CX + g.temple,
                  g.top + 100)
        p.cubicTo(CX + g.temple, g.cheek_y, CX + g.jaw + 8, jaw_y - 20,
                  CX + g.jaw * 0.72, jaw_y + 12)
        p.cubicTo(CX + g.jaw * 0.45, chin - 12, CX + g.chin_w, chin, CX, chin)
        p.cubicTo(CX - g.chin_w, chin, CX - g.jaw * 0.45, chin - 12, CX - g.jaw * 0.72, jaw_y + 12)
        p.cubicTo(CX - g.jaw - 8, jaw_y - 20, CX - g.temple, g.cheek_y, CX - g.temple, g.top + 100)
        p.cubicTo(CX - g.temple, g.top + 44, CX - g.temple * 0.62, g.top, CX, g.top)
        p.close()
        return p

    def draw_ears(self, canvas: skia.Canvas, pose: FacePose) -> None:
        g, pal = self.geometry, self.palette
        shift = -3.0 * pose.turn
        for side in (-1, 1):
            x = CX + side * (g.temple - 3) + shift
            ear = skia.Rect(x - 13, g.ear_y - 24, x + 13, g.ear_y + 20)
            canvas.drawOval(ear, fill(pal.skin))
            inner = skia.Path()
            inner.moveTo(x + side * 2, g.ear_y - 14)
            inner.cubicTo(x + side * 9, g.ear_y - 10, x + side * 8, g.ear_y + 8, x + side * 1,
                          g.ear_y + 12)
            canvas.drawPath(inner, stroke(pal.skin_shadow, 3.0))

    def draw_head(self, canvas: skia.Canvas, pose: FacePose, mouth: MouthShape) -> None:
        g, pal = self.geometry, self.palette
        head = self.head_path(mouth.jaw)
        canvas.drawPath(head, fill(pal.skin))
        canvas.save()
        canvas.clipPath(head, doAntiAlias=True)
        # Form shading: the side away from the light and under the cheekbones.
        right = skia.Rect(CX + g.temple - 44, g.top + 20, CX + g.temple + 56, g.chin + 30)
        left = skia.Rect(CX - g.temple - 52, g.top + 40, CX - g.temple + 30, g.chin + 20)
        soft_oval(canvas, right, pal.skin_shadow, 0.75, 0.35)
        soft_oval(canvas, left, pal.skin_shadow, 0.4, 0.3)
        canvas.restore()

        canvas.save()
        dx = 5.0 * pose.turn  # features slide towards the turn: a hint of three dimensions
        canvas.translate(dx, 0)
        # Cheeks.
        for side in (-1, 1):
            x = CX + side * (g.eye_dx + 8)
            soft_oval(canvas, skia.Rect(x - 24, g.nose_y - 12, x + 24, g.nose_y + 16), pal.blush,
                      0.3 + 0.1 * pose.smile)
        self.draw_eyes(canvas, pose)
        self.draw_brows(canvas, pose)
        self.draw_nose(canvas, pose)
        draw_mouth(canvas, mouth, pal, self.mouth_style, CX, g.mouth_y + mouth.jaw * 0.25)
        self.draw_face_extras(canvas, pose, mouth)
        canvas.restore()

    # --- features ------------------------------------------------------------------------

    def _eye_paths(self, cx: float, cy: float, openness: float, side: int) -> tuple[skia.Path,
                                                                                     skia.Path]:
        """The eye's outline and its upper lid line for an opening in [0, 1]."""
        g = self.geometry
        w, h = g.eye_w, g.eye_h
        inner, outer = (cx - side * w, cy + 1.5), (cx + side * w, cy - 1.0)
        left, right = (inner, outer) if side > 0 else (outer, inner)
        lid = cy + 6.0 - (h + 8.0) * openness  # the upper lid's control height
        low = cy + 7.0 - 1.5 * (1.0 - openness)
        upper = skia.Path()
        upper.moveTo(*left)
        upper.cubicTo(left[0] + w * 0.5, lid, right[0] - w * 0.55, lid, *right)
        outline = skia.Path(upper)
        outline.cubicTo(right[0] - w * 0.5, low + 3.0, left[0] + w * 0.5, low + 3.0, *left)
        outline.close()
        return outline, upper

    def draw_eyes(self, canvas: skia.Canvas, pose: FacePose) -> None:
        g, pal = self.geometry, self.palette
        openness = max(0.0, 1.0 - pose.blink)
        for side in (-1, 1):
            cx, cy = CX + side * g.eye_dx, g.eye_y
            outline, upper = self._eye_paths(cx, cy, openness, side)
            # Socket shade and lid crease.
            crease = skia.Path()
            crease.moveTo(cx - g.eye_w * 0.85, cy - 6)
            crease.cubicTo(cx - g.eye_w * 0.4, cy - g.eye_h - 10, cx + g.eye_w * 0.45,
                           cy - g.eye_h - 10, cx + g.eye_w * 0.9, cy - 6)
            canvas.drawPath(crease, stroke(pal.skin_shadow, 2.0, 0.8))
            if openness > 0.12:
                canvas.drawPath(outline, fill(pal.eye_white))
                canvas.save()
                canvas.clipPath(outline, doAntiAlias=True)
                ix = cx + 6.5 * pose.gaze_x
                iy = cy + 1.0 + 3.0 * pose.gaze_y
                r = g.iris_r
                iris = skia.Paint(AntiAlias=True, Shader=skia.GradientShader.MakeRadial(
                    skia.Point(ix, iy + 2), r,
                    [color(mix(pal.iris, "#ffffff", 0.25)), color(pal.iris),
                     color(mix(pal.iris, "#000000", 0.45))],
                    [0.0, 0.6, 1.0]))
                canvas.drawCircle(ix, iy, r, iris)
                canvas.drawCircle(ix, iy, r * 0.46, fill("#1b1414"))
                canvas.drawCircle(ix + r * 0.36, iy - r * 0.38, r * 0.27, fill("#ffffff", 0.95))
                canvas.drawCircle(ix - r * 0.3, iy + r * 0.35, r * 0.12, fill("#ffffff", 0.8))
                # The upper lid casts a soft shadow on the eyeball.
                canvas.drawPath(upper, skia.Paint(
                    AntiAlias=True, Color=color(pal.lash, 0.22), Style=skia.Paint.kStroke_Style,
                    StrokeWidth=7.0,
                    MaskFilter=skia.MaskFilter.MakeBlur(skia.kNormal_BlurStyle, 2.0)))
                canvas.restore()
            # Lash line, thicker towards the outer corner.
            canvas.drawPath(upper, stroke(pal.lash, 3.2 if g.lashes else 2.6))
            if g.lashes:
                # A small flick of lashes at the outer corner.
                ox, oy = cx + side * g.eye_w, cy - 1.0
                wing = skia.Path()
                wing.moveTo(ox - side * 12, oy - 4.0 * openness - 1.6)
                wing.quadTo(ox, oy - 3.0 * openness - 1.6, ox + side * 6.5,
                            oy - 2.0 - 4.5 * openness)
                wing.quadTo(ox + side * 1.5, oy - 0.2, ox - side * 1.0, oy + 0.4)
                wing.close()
                canvas.drawPath(wing, fill(pal.lash))
            # A fine lower lid line.
            lower = skia.Path()
            lower.moveTo(cx - g.eye_w * 0.6, cy + 8.5)
            lower.quadTo(cx, cy + 11.0, cx + g.eye_w * 0.65, cy + 7.5)
            canvas.drawPath(lower, stroke(pal.skin_shadow, 1.4, 0.7 * openness))

    def draw_brows(self, canvas: skia.Canvas, pose: FacePose) -> None:
        g, pal = self.geometry, self.palette
        for side in (-1, 1):
            cx = CX + side * (g.eye_dx + 1)
            y = g.brow_y - 7.0 * pose.brow
            inner_x, outer_x = cx - side * g.brow_w * 0.95, cx + side * g.brow_w
            inner_y = y + 3.0 - 2.5 * pose.brow
            peak_x = cx + side * g.brow_w * 0.25
            t0, t1 = g.brow_thick, g.brow_thick * 0.35
            p = skia.Path()
            p.moveTo(inner_x, inner_y - t0 * 0.5)
            p.cubicTo(inner_x + side * 8, y - 5 - t0 * 0.5, peak_x, y - 6 - t0 * 0.5,
                      outer_x, y + 3.0 - t1)
            p.cubicTo(peak_x, y - 6 + t0 * 0.5, inner_x + side * 8, y - 5 + t0 * 0.6,
                      inner_x, inner_y + t0 * 0.5)
            p.close()
            canvas.drawPath(p, fill(pal.brows))

    def draw_nose(self, canvas: skia.Canvas, pose: FacePose) -> None:
        g, pal = self.geometry, self.palette
        y = g.nose_y
        # A soft shadow on the shaded side, the tip and the nostrils.
        bridge = skia.Path()
        bridge.moveTo(CX + 6, g.eye_y + 6)
        bridge.cubicTo(CX + 9, y - 20, CX + 12, y - 8, CX + 11, y - 2)
        canvas.drawPath(bridge, stroke(pal.skin_shadow, 2.2, 0.55))
        base = skia.Path()
        base.moveTo(CX - 12, y - 1)
        base.cubicTo(CX - 9, y + 6, CX - 4, y + 6, CX, y + 5)
        base.cubicTo(CX + 4, y + 6, CX + 9, y + 6, CX + 12, y - 1)
        canvas.drawPath(base, stroke(pal.skin_shadow, 2.6))
        soft_oval(canvas, skia.Rect(CX - 9, y - 17, CX + 7, y + 1), "#ffffff", 0.2)
