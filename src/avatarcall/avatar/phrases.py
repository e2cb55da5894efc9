"""What the avatar says on its own, per language."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "greeting": {
        "fr": "Bonjour et bienvenue ! Un conseiller va vous répondre dans un instant. "
              "Merci de patienter.",
        "en": "Hello and welcome! An agent will be with you in a moment. Thank you for waiting.",
    },
    "goodbye": {
        "fr": "Merci pour votre appel. Au revoir, et bonne journée !",
        "en": "Thank you for your call. Goodbye, and have a nice day!",
    },
}


def phrase(key: str, language: str) -> str:
    texts = PHRASES[key]
    return texts.get(language, texts["en"])


def pick_language(setting: str, requested: str | None) -> str:
    """The call's language: the setting unless it is ``auto``, then the browser's, else English."""
    if setting != "auto":
        return setting
    if requested and requested.lower()[:2] in ("fr", "en"):
        return requested.lower()[:2]
    return "en"
