"""A deployment's own character, as a folder of PNG layers of one size.

    base.png          the figure without eyes and mouth (or with them: the layers cover them)
    eyes_open.png     eyes, open
    eyes_closed.png   eyes, closed (blinks cross-fade the two)
    mouth_<viseme>.png one per viseme: rest, closed, slight, open, wide, round, pursed, fv, lth

Every layer covers the whole picture (transparent where it has nothing), so they line up
without offsets. Mouth layers are blended by weight: each is added with its weight inside a
layer of its own, which gives the weighted mean of the images, then laid over the face.
A missing mouth falls back to a similar one (``FALLBACKS``); base, both eyes and
``mouth_rest.png`` are required.
"""

from __future__ import annotations

import logging
from pathlib import Path

import skia

from avatarcall.avatar.characters.base import UNIT, Palette
from avatarcall.avatar.motion import FacePose
from avatarcall.avatar.visemes import VISEMES, Viseme

log = logging.getLogger(__name__)

REQUIRED = ("base.png", "eyes_open.png", "eyes_closed.png", "mouth_rest.png")
FALLBACKS: dict[Viseme, tuple[Viseme, ...]] = {
    Viseme.CLOSED: (Viseme.REST,),
    Viseme.SLIGHT: (Viseme.OPEN, Viseme.REST),
    Viseme.OPEN: (Viseme.WIDE, Viseme.SLIGHT, Viseme.REST),
    Viseme.WIDE: (Viseme.OPEN, Viseme.SLIGHT, Viseme.REST),
    Viseme.ROUND: (Viseme.PURSED, Viseme.OPEN, Viseme.REST),
    Viseme.PURSED: (Viseme.ROUND, Viseme.SLIGHT, Viseme.REST),
    Viseme.FV: (Viseme.SLIGHT, Viseme.CLOSED, Viseme.REST),
    Viseme.LTH: (Viseme.SLIGHT, Viseme.OPEN, Viseme.REST),
}


class CharacterError(ValueError):
    """A character cannot be found or its images are unusable."""


def _load(path: Path) -> skia.Image:
    image = skia.Image.MakeFromEncoded(skia.Data.MakeFromFileName(str(path)))
    if image is None:
        raise CharacterError(f"not a readable image: {path}")
    return image.makeRasterImage()


def is_image_character(folder: Path) -> bool:
    return (folder / "base.png").is_file()


class ImageCharacter:
    """Composites the PNG layers of ``folder``; the figure breathes and sways as a whole."""

    def __init__(self, folder: Path, palette: Palette | None = None,
                 name: str | None = None) -> None:
        self.folder = Path(folder)
        self.name = name or self.folder.name
        self.palette = palette or Palette()
        missing = [f for f in REQUIRED if not (self.folder / f).is_file()]
        if missing:
            raise CharacterError(f"character folder {self.folder} lacks {', '.join(missing)}")
        self._base = _load(self.folder / "base.png")
        size = (self._base.width(), self._base.height())
        self._eyes_open = _load(self.folder / "eyes_open.png")
        self._eyes_closed = _load(self.folder / "eyes_closed.png")
        found = {v: self.folder / f"mouth_{v.value}.png" for v in VISEMES}
        loaded = {v: _load(p) for v, p in found.items() if p.is_file()}
        self._mouths: dict[Viseme, skia.Image] = {}
        for v in VISEMES:
            if v in loaded:
                self._mouths[v] = loaded[v]
                continue
            substitute = next(f for f in (*FALLBACKS.get(v, ()), Viseme.REST) if f in loaded)
            log.info("character %s has no mouth_%s.png, using mouth_%s.png", self.name, v.value,
                     substitute.value)
            self._mouths[v] = loaded[substitute]
        for image in (self._eyes_open, self._eyes_closed, *self._mouths.values()):
            if (image.width(), image.height()) != size:
                raise CharacterError(f"all layers of {self.folder} must be {size[0]}x{size[1]}")
        self._dst = _fit(size)
        self._sampling = skia.SamplingOptions(skia.FilterMode.kLinear, skia.MipmapMode.kNone)

    def _draw(self, canvas: skia.Canvas, image: skia.Image, alpha: float = 1.0,
              blend: skia.BlendMode = skia.BlendMode.kSrcOver) -> None:
        paint = skia.Paint(AntiAlias=True, Alphaf=alpha, BlendMode=blend)
        canvas.drawImageRect(image, self._dst, self._sampling, paint)

    def draw(self, canvas: skia.Canvas, pose: FacePose) -> None:
        canvas.save()
        # The picture is one piece: it breathes and sways around its bottom centre.
        canvas.translate(pose.head_x * 0.4, pose.head_y * 0.4 - 3.0 * pose.breathe)
        canvas.rotate(pose.tilt * 0.4, UNIT / 2, UNIT)
        self._draw(canvas, self._base)
        blink = min(max(pose.blink, 0.0), 1.0)
        if blink < 1.0:
            self._draw(canvas, self._eyes_open, 1.0 - blink)
        if blink > 0.0:
            self._draw(canvas, self._eyes_closed, blink)
        # Weighted mean of the mouth layers: sum w_i * image_i in a layer (weights sum to 1).
        canvas.saveLayer(self._dst, None)
        for viseme, weight in pose.visemes.items():
            if weight > 0.004:
                self._draw(canvas, self._mouths[viseme], weight, skia.BlendMode.kPlus)
        canvas.restore()
        canvas.restore()


def _fit(size: tuple[int, int]) -> skia.Rect:
    """Where a picture of ``size`` goes in the UNIT square: scaled to fit, bottom-centred."""
    w, h = size
    scale = min(UNIT / w, UNIT / h)
    dw, dh = w * scale, h * scale
    return skia.Rect.MakeXYWH((UNIT - dw) / 2, UNIT - dh, dw, dh)
