"""Wire messages of the signaling WebSocket: one pydantic model per ``type``, in discriminated unions.

Client messages are validated once, here at the edge; everything inside trusts their types.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from avatarcall.calls.models import Role
from avatarcall.calls.plan import AfterMode, AvatarView, DuringMode
from avatarcall.calls.state import CallState
from avatarcall.errors import BadMessage

MAX_SDP = 32_000
CallId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionDescription(_Message):
    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: str = Field(default="", max_length=MAX_SDP)


class IceCandidate(_Message):
    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(default=None, max_length=64)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=64)
    usernameFragment: str | None = Field(default=None, max_length=256)


# --- browser -> server ---------------------------------------------------------------


class Ping(_Message):
    type: Literal["ping"]


class RefreshIce(_Message):
    """The page's TURN credentials are about to expire: it asks for fresh ones."""

    type: Literal["ice.refresh"]


class AcceptCall(_Message):
    """An agent takes a waiting customer, optionally with the avatar plan for this call."""

    type: Literal["call.accept"]
    call_id: CallId
    during: DuringMode | None = None
    after: AfterMode | None = None


class EndCall(_Message):
    type: Literal["call.end"]
    call_id: CallId


class CallSignal(_Message):
    """SDP or an ICE candidate for the peer-to-peer call link, relayed to the other participant."""

    type: Literal["call.signal"]
    call_id: CallId
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None
    # The polite side asks the offering side for an ICE restart (offers never cross).
    restart: bool | None = None
    # Which of the offering side's offers a description is, or answers: an answer to an offer
    # since withdrawn (rolled back and made again) is told apart and dropped. With ``restart``:
    # the last offer the asking side answered (an ask that crossed a newer offer is dropped).
    offer: int | None = Field(default=None, ge=0, le=2**31)


class RejoinCall(_Message):
    """This page is new to a call already on (a reload): the other side must start a new link."""

    type: Literal["call.rejoin"]
    call_id: CallId


class LinkState(_Message):
    """The browser's view of one of its links (``RTCPeerConnection.connectionState``)."""

    type: Literal["link.state"]
    call_id: CallId
    link: Literal["call", "avatar"]
    state: Literal["new", "connecting", "connected", "disconnected", "failed", "closed"]


class AvatarOffer(_Message):
    """The page's offer for its avatar link; the server answers it."""

    type: Literal["avatar.offer"]
    call_id: CallId
    epoch: int = Field(ge=0)
    sdp: str = Field(min_length=1, max_length=MAX_SDP)


class TelemetryEvent(_Message):
    """One thing a page saw happen on one of its links (the report's log lines, structured)."""

    at: float = Field(ge=0, description="the browser's clock, ms since the epoch")
    link: Literal["call", "avatar", "signaling", "media"]
    kind: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,39}$")
    value: str | None = Field(default=None, max_length=64)
    elapsed_ms: float | None = Field(default=None, ge=0, le=3_600_000)
    code: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")


class StatsSample(_Message):
    """A getStats() summary of one link."""

    link: Literal["call", "avatar"]
    bitrate_kbps: float | None = Field(default=None, ge=0, le=1_000_000)
    fps: float | None = Field(default=None, ge=0, le=240)
    packet_loss: float | None = Field(default=None, ge=0, le=1)
    rtt_ms: float | None = Field(default=None, ge=0, le=60_000)
    candidate_type: Literal["host", "srflx", "prflx", "relay"] | None = None
    frames_decoded: int | None = Field(default=None, ge=0)
    playout_delay_ms: float | None = Field(
        default=None, ge=0, le=10_000,
        description="avatar link: how long the page buffers the avatar's voice before playing it "
                    "(jitter buffer + playout); its picture is held as long (LipSync)")


class Telemetry(_Message):
    type: Literal["telemetry"]
    call_id: CallId
    sent_at: float | None = Field(default=None, ge=0,
                                  description="the page's clock when it sent this, ms since the "
                                              "epoch: puts its events on the server's clock")
    events: list[TelemetryEvent] = Field(default_factory=list, max_length=50)
    stats: list[StatsSample] = Field(default_factory=list, max_length=4)


class SetAvatarPlan(_Message):
    type: Literal["avatar.plan.set"]
    call_id: CallId
    during: DuringMode | None = None
    after: AfterMode | None = None


SAY_MAX = 1000  # characters the avatar says at once (the console counts them)


class AvatarSay(_Message):
    type: Literal["avatar.say"]
    call_id: CallId
    text: str = Field(min_length=1, max_length=SAY_MAX)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$",
                                 description="the voice's language; the call's when absent")


class AvatarRestart(_Message):
    type: Literal["avatar.restart"]
    call_id: CallId


ASK_MAX = 500  # characters of one question to the assistant


class AskAssistant(_Message):
    """The customer writes to the assistant (while waiting, and after the call)."""

    type: Literal["assistant.ask"]
    call_id: CallId
    text: str = Field(min_length=1, max_length=ASK_MAX)


class RateCall(_Message):
    """The customer says how the call went (1-5), after it."""

    type: Literal["call.rate"]
    call_id: CallId
    stars: int = Field(ge=1, le=5)


ClientMessage = Annotated[
    Ping
    | RefreshIce
    | AcceptCall
    | EndCall
    | CallSignal
    | RejoinCall
    | LinkState
    | Telemetry
    | AvatarOffer
    | SetAvatarPlan
    | AvatarSay
    | AvatarRestart
    | RateCall
    | AskAssistant,
    Field(discriminator="type"),
]

# Messages about the one call their sender is in.
InCallMessage = (CallSignal | RejoinCall | LinkState | AvatarOffer | EndCall | SetAvatarPlan
                 | AvatarSay | AvatarRestart | RateCall | AskAssistant)

_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Validate one frame from a browser; raise :class:`BadMessage` with a readable reason."""
    try:
        return _client_adapter.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        if first.get("type") == "union_tag_invalid":
            raise BadMessage(f"unknown message type: {first.get('input', {}).get('type')!r}",
                             code="unknown_type") from None
        if first.get("type") == "union_tag_not_found":
            raise BadMessage("a message needs a 'type'") from None
        raise BadMessage(f"{where}: {first.get('msg', 'invalid')}") from None


# --- server -> browser ---------------------------------------------------------------


class _ServerMessage(_Message):
    seq: int | None = Field(default=None, ge=0, description=(
        "what a participant of a call is sent is numbered, per call and participant: a page "
        "that reconnects says the last number it saw (``/ws?since=CALL:SEQ``) and is sent what "
        "it missed, once. On ``welcome``: the number this tab's messages follow."))


class QueueItem(_Message):
    call_id: str
    customer: str
    language: str
    waiting_since: float
    connected: bool = Field(default=True, description="whether the customer's page is open")
    topic: str | None = Field(default=None, description="what it is about, if they said")


class CallSnapshot(_Message):
    call_id: str
    state: CallState
    role: Role
    language: str
    during: DuringMode
    after: AfterMode
    agent: str | None = None
    customer: str | None = None
    topic: str | None = None
    created_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None


class AssistantInfo(_Message):
    """Who the avatar is, for the page's words ("Assistante virtuelle" for Ava)."""

    name: str
    feminine: bool | None = None
    listens: list[str] = Field(default_factory=list,
                               description="languages the customer may speak to it in (a mic)")


PROTOCOL = 1  # this module's messages; the SDK checks it (static/sdk/session.js PROTOCOL)


class Welcome(_ServerMessage):
    type: Literal["welcome"] = "welcome"
    protocol: int = Field(default=PROTOCOL, description="the signaling protocol's version: a "
                          "page whose SDK speaks another one stops with a clear error")
    assistant: AssistantInfo | None = None
    role: Role
    name: str
    call: CallSnapshot | None = None
    ice_servers_call: list[dict[str, Any]]
    ice_servers_avatar: list[dict[str, Any]]
    ice_refresh_in: float | None = Field(default=None, description="seconds until to ask again")
    relay_only: bool = False


class IceServers(_ServerMessage):
    """Fresh ICE server lists (new TURN credentials) for this page's links."""

    type: Literal["ice.servers"] = "ice.servers"
    call: list[dict[str, Any]]
    avatar: list[dict[str, Any]]
    refresh_in: float | None = None


class Pong(_ServerMessage):
    type: Literal["pong"] = "pong"


class QueueUpdate(_ServerMessage):
    type: Literal["queue"] = "queue"
    items: list[QueueItem] = Field(description="the longest-waiting customers, oldest first")
    total: int | None = Field(default=None, description="how many wait in all")


class QueuePosition(_ServerMessage):
    """A waiting customer's place in line, and what the wait looks like."""

    type: Literal["queue.position"] = "queue.position"
    call_id: str
    position: int = Field(description="1: next")
    total: int
    agents_online: int
    estimated_wait: float | None = Field(default=None, description="seconds, from recent accepts")


class AvatarCaption(_ServerMessage):
    """What the avatar is about to say (captions on the customer's page)."""

    type: Literal["avatar.caption"] = "avatar.caption"
    call_id: str
    text: str


class ConversationItem(_Message):
    """One turn of the customer's conversation with the assistant."""

    role: Literal["customer", "assistant"]
    text: str
    at: float
    open: bool = Field(default=False, description="a question or message for the agent")
    spoken: bool = Field(default=False, description="said aloud (else typed)")


class ConversationTurn(_ServerMessage):
    """A new turn, for the customer's page (and the agent's console once it has the call)."""

    type: Literal["conversation.item"] = "conversation.item"
    call_id: str
    item: ConversationItem


class ConversationHistory(_ServerMessage):
    """The conversation so far: for a page that (re)joins, and the agent's hand-over."""

    type: Literal["conversation.history"] = "conversation.history"
    call_id: str
    items: list[ConversationItem]
    open: list[str] = Field(description="the questions and messages left for the agent")
    suggestions: list[str] = Field(default_factory=list,
                                   description="quick replies the customer may tap")


class CallStarted(_ServerMessage):
    """Both participants are told to open their call link; the customer's side is polite."""

    type: Literal["call.started"] = "call.started"
    call: CallSnapshot
    polite: bool
    resume: str | None = Field(default=None, description="lets this tab take the call back after a cut")


class CallRejoined(_ServerMessage):
    """The other participant came back on a new page: close the call link and open a new one."""

    type: Literal["call.rejoin"] = "call.rejoin"
    call_id: str


class CallStateChanged(_ServerMessage):
    type: Literal["call.state"] = "call.state"
    call_id: str
    state: CallState
    reason: str | None = None


class CallSignalOut(_ServerMessage):
    type: Literal["call.signal"] = "call.signal"
    call_id: str
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None
    restart: bool | None = None
    offer: int | None = None


class AvatarViewChanged(_ServerMessage):
    """What the page's avatar slot shows now; a new ``epoch`` means a new avatar session."""

    type: Literal["avatar.view"] = "avatar.view"
    call_id: str
    view: AvatarView
    epoch: int
    during: DuringMode
    after: AfterMode
    voice: Literal["tts", "agent"] = "tts"


class AvatarAnswer(_ServerMessage):
    type: Literal["avatar.answer"] = "avatar.answer"
    call_id: str
    epoch: int
    sdp: str


class AvatarFailed(_ServerMessage):
    type: Literal["avatar.error"] = "avatar.error"
    call_id: str
    epoch: int
    code: str
    message: str
    retryable: bool


class ErrorMessage(_ServerMessage):
    type: Literal["error"] = "error"
    code: str
    message: str
    retryable: bool = False
    request: str | None = Field(default=None, description="the type of the message that failed")


ServerMessage = (
    Welcome
    | IceServers
    | Pong
    | QueueUpdate
    | CallStarted
    | CallRejoined
    | CallStateChanged
    | CallSignalOut
    | AvatarViewChanged
    | AvatarAnswer
    | AvatarFailed
    | ErrorMessage
    | QueuePosition
    | AvatarCaption
    | ConversationTurn
    | ConversationHistory
)


_server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(
    Annotated[ServerMessage, Field(discriminator="type")])


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """A server message as another node sent it (trusted: it was made by a model here)."""
    return _server_adapter.validate_json(raw)
