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


class CustomerAway(AvatarCallError):
    """The waiting customer's page is closed (they may come back within the grace period)."""

    code = "customer_away"
    retryable = True


class IllegalTransition(AvatarCallError):
    """A call state change that the state machine forbids."""

    code = "illegal_transition"


class VersionConflict(AvatarCallError):
    """A call was written from an older version than the stored one: someone else changed it
    first. The flow decides again on the newer call."""

    code = "conflict"
    retryable = True


class Unauthenticated(AvatarCallError):
    code = "unauthenticated"


class SessionEnded(Unauthenticated):
    """An agent's session that was ended: the agent removed, signed out everywhere, or their
    password or role changed. They sign in again (if they still may)."""

    code = "session_ended"


class BadApiKey(Unauthenticated):
    """A REST call of the integration API without a valid (known, not revoked) API key."""

    code = "bad_api_key"


class BadSdp(AvatarCallError):
    code = "bad_sdp"


class RateLimited(AvatarCallError):
    code = "rate_limited"
    retryable = True


class TooManyAttempts(RateLimited):
    """Too many failed sign-ins for this name or from this address: wait ``retry_after`` seconds."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooManyCalls(TooManyAttempts):
    """Too many calls started from this address lately: wait ``retry_after`` seconds."""

    code = "too_many_calls"


class TooManyRequests(TooManyAttempts):
    """Too many requests of one kind from this address or page: wait ``retry_after`` seconds."""

    code = "rate_limited"


class QueueFull(TooManyAttempts):
    """As many customers are waiting as this server takes: try again in ``retry_after`` seconds."""

    code = "queue_full"


class BadOrigin(AvatarCallError):
    """A WebSocket opened from a page of another site (its ``Origin`` is not allowed here)."""

    code = "bad_origin"


class AvatarUnavailable(AvatarCallError):
    code = "avatar_unavailable"
    retryable = True


class AvatarBusy(AvatarUnavailable):
    """Every avatar session this server may render is in use (``max_avatar_sessions``)."""

    code = "avatar_busy"


class AvatarWorkerLost(AvatarUnavailable):
    """The worker process that rendered this avatar went away (it starts again elsewhere)."""

    code = "avatar_worker_lost"


class AvatarMoved(AvatarUnavailable):
    """The avatar moves to another worker (its own drains)."""

    code = "avatar_moved"


class AvatarCrashed(AvatarCallError):
    code = "avatar_crashed"
    retryable = True


class AvatarStopped(AvatarCallError):
    code = "avatar_stopped"
    retryable = True


# Codes pages report that the server never raises itself (avatar-slot.js, the SDK, the scorecard).
PAGE_CODES = frozenset({"avatar_timeout", "call_timeout", "signaling_closed", "closed",
                        "superseded", "avatar_error", "avatar_not_live", "call_not_connected",
                        # codes given to an error where it is raised
                        "token_invalid", "token_expired", "bad_login", "unknown_type",
                        "replaced", "bad_host"})


def _codes(cls: type[AvatarCallError]) -> set[str]:
    return {cls.code}.union(*(_codes(sub) for sub in cls.__subclasses__()))


def known_code(code: str | None) -> str:
    """``code`` if it is one of ours or one our pages send, else ``other``: what pages report
    becomes a metric label only from this closed set (a new label is a new series, forever)."""
    if code is not None and (code in PAGE_CODES or code in _codes(AvatarCallError)):
        return code
    return "other"


__all__ = [
    "AvatarCallError",
    "AvatarCrashed",
    "AvatarStopped",
    "AvatarUnavailable",
    "BadApiKey",
    "BadMessage",
    "BadOrigin",
    "BadSdp",
    "CallEnded",
    "CallTaken",
    "IllegalTransition",
    "NotAllowed",
    "RateLimited",
    "TooManyAttempts",
    "Unauthenticated",
    "UnknownCall",
    "VersionConflict",
    "known_code",
]
