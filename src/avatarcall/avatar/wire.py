"""The avatar workers' protocol: typed messages on the WebSocket a worker dials in on (``/workers``).

A worker says ``hello`` and then reports its ``load`` every second; the server sends it
``command``s (the :class:`AvatarControl` calls, in plain data) and the worker answers each with a
``reply`` of the same ``id``; what happens to its sessions comes back as ``event``s. Media never
goes through here: a worker's peer connections talk to the browsers themselves.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from avatarcall.config import IceServer

PROTOCOL = 1
Key = Annotated[str, Field(min_length=1, max_length=64)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- worker -> server --------------------------------------------------------------------


class Running(_Message):
    key: Key
    epoch: int


class Hello(_Message):
    type: Literal["hello"] = "hello"
    protocol: int = PROTOCOL
    worker: str = Field(min_length=1, max_length=80, description="unique per worker process")
    pid: int
    host: str = Field(max_length=255)
    capacity: int = Field(ge=0, description="sessions it can render at its frame rate")
    sessions: list[Running] = Field(default_factory=list, max_length=1000, description=(
        "back after a cut: the sessions it kept running, for the server to take back (their "
        "viewers never noticed) or stop"))


class Load(_Message):
    """Every second, and at once when it changes a lot (draining)."""

    type: Literal["load"] = "load"
    sessions: int = Field(ge=0)
    viewers: int = Field(ge=0)
    capacity: int = Field(ge=0, description="live: from its own frame times")
    frame_ms: float | None = Field(default=None, ge=0, description="render + encode, median")
    render_ms: list[float] = Field(default_factory=list, max_length=100)
    encode_ms: list[float] = Field(default_factory=list, max_length=100)
    late_frames: int = Field(default=0, ge=0, description="frames skipped since the last load")
    draining: bool = False


class WireError(_Message):
    code: str
    message: str
    retryable: bool = False


class Reply(_Message):
    type: Literal["reply"] = "reply"
    id: int
    epoch: int | None = None  # start, fault
    sdp: str | None = None  # answer
    error: WireError | None = None


class Event(_Message):
    type: Literal["event"] = "event"
    kind: Literal["failed", "link", "heard"]
    key: Key
    epoch: int
    code: str | None = None
    message: str | None = None
    retryable: bool = True
    viewer: str | None = None
    state: str | None = None
    text: str | None = Field(default=None, max_length=2000, description="heard: the words")


FromWorker = Annotated[Hello | Load | Reply | Event, Field(discriminator="type")]
from_worker: TypeAdapter[FromWorker] = TypeAdapter(FromWorker)


# --- server -> worker --------------------------------------------------------------------

Op = Literal["start", "stop", "say", "interrupt", "use_voice", "answer", "drop_viewer", "fault"]


class Command(_Message):
    type: Literal["command"] = "command"
    id: int
    op: Op
    key: Key
    epoch: int | None = None  # start: the epoch the server chose (epochs are the server's)
    language: str | None = None
    text: str | None = Field(default=None, max_length=4000)
    when_watched: bool = False
    append: bool = False  # say: after what it is saying (a streamed answer's next sentence)
    viewer: str | None = None
    sdp: str | None = Field(default=None, max_length=32_000)
    audience: bool = True
    fault: Literal["crash", "stop"] | None = None
    ice_servers: list[IceServer] | None = None  # answer: fresh TURN credentials from the server


class Accepted(_Message):
    type: Literal["accepted"] = "accepted"
    heartbeat: float = Field(description="seconds between loads; silent 3x as long is gone")
    keep: list[Key] = Field(default_factory=list, description=(
        "of the sessions the hello listed, those the server took back; the others stop"))


ToWorker = Annotated[Command | Accepted, Field(discriminator="type")]
to_worker: TypeAdapter[ToWorker] = TypeAdapter(ToWorker)
