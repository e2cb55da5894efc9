"""Errors that reach a person: each has a stable code, a human message and whether retrying helps."""

from __future__ import annotations


class AvatarCallError(Exception):
    """Base of every error whose code and message are sent to the browser."""

    code = "internal"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable


class BadMessage(AvatarCallError):
    """A WebSocket message that is not JSON, or not one of the documented types."""

    code = "bad_message"


class UnknownCall(AvatarCallError):
    code = "unknown_call"


class NotAllowed(AvatarCallError):
    """The sender may not do this in this call (wrong role, or not their call)."""

    code = "not_allowed"


class CallTaken(AvatarCallError):
    code = "call_taken"


class CallEnded(AvatarCallError):
    code = "call_ended"


class IllegalTransition(AvatarCallError):
    """A call state change that the state machine forbids."""

    code = "illegal_transition"


class Unauthenticated(AvatarCallError):
    code = "unauthenticated"


class BadSdp(AvatarCallError):
    code = "bad_sdp"


class RateLimited(AvatarCallError):
    code = "rate_limited"
    retryable = True


class AvatarUnavailable(AvatarCallError):
    code = "avatar_unavailable"
    retryable = True


class AvatarCrashed(AvatarCallError):
    code = "avatar_crashed"
    retryable = True


class AvatarStopped(AvatarCallError):
    code = "avatar_stopped"
    retryable = True


__all__ = [
    "AvatarCallError",
    "AvatarCrashed",
    "AvatarStopped",
    "AvatarUnavailable",
    "BadMessage",
    "BadSdp",
    "CallEnded",
    "CallTaken",
    "IllegalTransition",
    "NotAllowed",
    "RateLimited",
    "Unauthenticated",
    "UnknownCall",
]
