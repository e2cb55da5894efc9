"""The avatar's characters: two drawn ones (Ava and Leo) and a deployment's own PNG folders."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from avatarcall.avatar.characters.ava import Ava
from avatarcall.avatar.characters.base import Character, Palette
from avatarcall.avatar.characters.face import VectorCharacter
from avatarcall.avatar.characters.image import CharacterError, ImageCharacter, is_image_character
from avatarcall.avatar.characters.leo import Leo

BUILT_IN: dict[str, type[VectorCharacter]] = {"ava": Ava, "leo": Leo}

__all__ = [
    "BUILT_IN",
    "Character",
    "CharacterError",
    "ImageCharacter",
    "Palette",
    "character_names",
    "load_character",
]


def character_names(image_dir: Path | None = None) -> list[str]:
    """The built-in characters and the image characters found in ``image_dir``."""
    names = list(BUILT_IN)
    if image_dir is not None and Path(image_dir).is_dir():
        folder = Path(image_dir)
        if is_image_character(folder):
            names.append(folder.name)
        names += sorted(p.name for p in folder.iterdir() if p.is_dir() and is_image_character(p))
    return names


def load_character(name: str = "ava", palette: Mapping[str, str] | None = None,
                   image_dir: Path | None = None) -> Character:
    """The character called ``name``.

    ``image_dir`` is where a deployment keeps its own characters: a folder of character folders
    (``image_dir/<name>/base.png`` ...), or one character folder itself, used when ``name`` is
    its folder's name or not a built-in name. An image character wins over a built-in one.
    ``palette`` overrides colours by name (see ``Palette``); for an image character only the
    background ones matter.
    """
    if image_dir is not None:
        folder = Path(image_dir)
        if is_image_character(folder / name):
            return ImageCharacter(folder / name, Palette().with_overrides(palette), name)
        if is_image_character(folder) and (name == folder.name or name not in BUILT_IN):
            return ImageCharacter(folder, Palette().with_overrides(palette), name)
    cls = BUILT_IN.get(name)
    if cls is None:
        raise CharacterError(
            f"unknown character {name!r}; available: {', '.join(character_names(image_dir))}")
    return cls(cls.default_palette.with_overrides(palette))
