"""The avatar: sessions (clock, speech, render once, encode once, fan out) behind AvatarService."""

from avatarcall.avatar.service import AvatarEvent, AvatarFailure, AvatarLinkState, AvatarService
from avatarcall.avatar.session import AvatarSession, SessionConfig
from avatarcall.avatar.speech import EspeakSynthesizer, Speech, SpeechSynthesizer

__all__ = [
    "AvatarEvent",
    "AvatarFailure",
    "AvatarLinkState",
    "AvatarService",
    "AvatarSession",
    "EspeakSynthesizer",
    "SessionConfig",
    "Speech",
    "SpeechSynthesizer",
]
