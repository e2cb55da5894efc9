"""The avatar: sessions (clock, speech, render once, encode once, fan out), driven from outside
through :class:`~avatarcall.avatar.control.AvatarControl` in plain data only."""

from avatarcall.avatar.control import (
    AvatarControl,
    AvatarEvent,
    AvatarFailed,
    AvatarLoad,
    SlotFreed,
    ViewerLinkChanged,
)
from avatarcall.avatar.session import SessionConfig
from avatarcall.avatar.speech import EspeakSynthesizer, Speech, SpeechSynthesizer

__all__ = [
    "AvatarControl",
    "AvatarEvent",
    "AvatarFailed",
    "AvatarLoad",
    "EspeakSynthesizer",
    "SessionConfig",
    "SlotFreed",
    "Speech",
    "SpeechSynthesizer",
    "ViewerLinkChanged",
]
