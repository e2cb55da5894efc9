"""An avatar's parts as the settings describe them (the server and its workers read the same
``AVATARCALL_AVATAR_*`` settings)."""

from __future__ import annotations

from functools import partial

from avatarcall.assistant import Assistant, load_faqs
from avatarcall.avatar.loops import OverlayLoops
from avatarcall.avatar.recognizers import (
    ByLanguage,
    PocketSphinx,
    Recognizer,
    TranscriptionEndpoint,
    Vosk,
)
from avatarcall.avatar.renderer import Renderer, make_renderer
from avatarcall.avatar.session import SessionConfig
from avatarcall.avatar.speech import EspeakSynthesizer, SpeechSynthesizer
from avatarcall.config import Settings


def session_config(settings: Settings) -> SessionConfig:
    return SessionConfig(size=settings.avatar_size, fps=settings.avatar_fps,
                         bitrate=settings.avatar_bitrate,
                         keyframe_interval=settings.avatar_keyframe_interval,
                         character=settings.avatar_character,
                         palette=tuple(settings.avatar_palette.items()),
                         image_dir=settings.avatar_image_dir)


# Who the drawn characters are, for the pages' words ("Assistante virtuelle" for Ava).
CHARACTERS = {"ava": ("Ava", True), "leo": ("Leo", False)}


def assistant(settings: Settings) -> tuple[str, bool | None]:
    """The avatar's name, and whether it is feminine (None: not said, for a folder's own)."""
    return CHARACTERS.get(settings.avatar_character,
                          (settings.avatar_character.replace("-", " ").title(), None))


def synthesizer(settings: Settings) -> SpeechSynthesizer:
    """espeak-ng by default; Piper when a voice model is configured."""
    if settings.piper_model is not None:
        from avatarcall.avatar.speech import PiperSynthesizer

        return PiperSynthesizer(settings.piper_model)
    return EspeakSynthesizer()


def recognizer(settings: Settings) -> Recognizer | None:
    """What hears the customer talk to the assistant (``speech_recognizer``, then Vosk for the
    languages of ``vosk_models``); None: typing only."""
    vosk: list[Recognizer] = [Vosk(language, folder)
                              for language, folder in settings.vosk_models.items()]
    base: Recognizer | None = None
    if settings.speech_recognizer == "openai":
        key = settings.transcription_api_key
        base = TranscriptionEndpoint(settings.transcription_url or "", settings.transcription_model,
                                     key.get_secret_value() if key else None,
                                     settings.transcription_languages)
    elif settings.speech_recognizer == "pocketsphinx":
        faqs = load_faqs(settings.faq_dir)
        english = faqs.get("en")
        base = PocketSphinx(english.sentences() if english else [],
                            meaning=partial(Assistant(faqs).meaning, language="en"))
    if not vosk:
        return base
    return ByLanguage([*([base] if base else []), *vosk])


def listens(settings: Settings) -> list[str]:
    """The languages the customer may speak to the assistant in (the pages offer a mic)."""
    heard = set(settings.vosk_models)
    if settings.speech_recognizer == "openai":
        heard |= set(settings.transcription_languages)
    elif settings.speech_recognizer == "pocketsphinx":
        heard |= PocketSphinx.languages
    return sorted(heard)


def overlay_loops(settings: Settings) -> OverlayLoops:
    """The overlay mode's loops of the configured character, cached for every server here."""
    def renderer() -> Renderer:
        return make_renderer(settings.avatar_character, settings.avatar_size,
                             settings.avatar_palette, settings.avatar_image_dir)

    images = settings.avatar_image_dir
    return OverlayLoops(settings.cache_dir / "loops", renderer, identity={
        "character": settings.avatar_character, "palette": settings.avatar_palette,
        "size": settings.avatar_size, "images": str(images or ""),
        # a deployment's own pictures, changed in place, make new loops
        "changed": max((p.stat().st_mtime for p in images.iterdir()), default=0) if images else 0})
