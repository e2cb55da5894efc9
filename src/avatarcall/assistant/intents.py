"""What a waiting customer asks about the wait itself, recognised before the FAQ is searched:
their place and the wait, a person, a message for the advisor."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Intent(StrEnum):
    WAIT = "wait"  # my place in line, how long
    PERSON = "person"  # I want a human
    MESSAGE = "message"  # I want to leave a message


# Whole words, lower case, accents kept (French needs them); the first that matches wins.
_PATTERNS: dict[str, list[tuple[Intent, re.Pattern[str]]]] = {
    "en": [
        (Intent.MESSAGE, re.compile(r"\b(leave|take|send|pass on) (a |my )?(message|note)\b")),
        (Intent.PERSON, re.compile(
            r"\b(human|real person|a person|someone real|an? (agent|advisor|adviser|operator|"
            r"representative)|speak to (someone|somebody|a person)|talk to (someone|somebody|a person))\b")),
        # About the wait itself ("how long will delivery take" is the FAQ's).
        (Intent.WAIT, re.compile(
            r"\b(wait|waiting|queue|my (turn|place|position)|place in (the )?line|"
            r"position in (the )?line|how many (people|customers)|(am i|is it) (next|soon))\b")),
    ],
    "fr": [
        (Intent.MESSAGE, re.compile(r"\b(laisser|transmettre|envoyer) (un |mon )?(message|mot)\b")),
        (Intent.PERSON, re.compile(
            r"\b(humain|vraie personne|une personne|quelqu.un de réel|un (conseiller|agent|opérateur)|"
            r"une conseillère|parler à quelqu.un)\b")),
        (Intent.WAIT, re.compile(
            r"\b(attente|attendre|file|mon tour|ma place|ma position|combien de (personnes|clients)|"
            r"bientôt (mon tour|à moi))\b")),
    ],
}


def intent_of(text: str, language: str) -> Intent | None:
    plain = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    for intent, pattern in _PATTERNS.get(language, _PATTERNS["en"]):
        if pattern.search(plain):
            return intent
    return None
